//! The `ferrosign` binary: pick the front-end (Action or CLI), run, render the error once, exit.
#![forbid(unsafe_code)]

fn main() {
    let mut ui = ferrosign::gha::Ui::from_env();
    let code = ferrosign::main_entry(std::env::args_os().collect(), &mut ui);
    std::process::exit(code);
}
