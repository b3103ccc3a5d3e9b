//! The `ferrosign` binary: the front-end picks CLI or Action, runs, renders, and says the exit code.
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(ferrosign::front::main(
        &std::env::args_os().collect::<Vec<_>>(),
    ));
}
