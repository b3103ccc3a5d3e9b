# syntax=docker/dockerfile:1
# The ferrosign container Action: one static (musl) binary on an empty image with CA certificates.
# Multi-arch: `docker buildx build --platform linux/amd64,linux/arm64 .` builds each architecture
# natively (under emulation for the foreign one); releases publish it once and pin `action.yml` to the
# image by digest, so workflows never compile it (see README, "Releases").

FROM rust:1.95-bookworm AS build
# musl-gcc compiles the C part of the TLS crypto library (aws-lc) for the musl target. The base image
# already has ca-certificates, whose bundle the final stage copies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools=1.2.3-1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# The static binary lands at /out/ferrosign; it must need no shared library (no NEEDED entry).
RUN set -eu; \
    target="$(uname -m)-unknown-linux-musl"; \
    rustup target add "$target"; \
    cargo build --release --locked --target "$target"; \
    mkdir -p /out; \
    cp "target/$target/release/ferrosign" /out/ferrosign; \
    readelf -d /out/ferrosign > /tmp/dynamic.txt; \
    if grep -q NEEDED /tmp/dynamic.txt; then echo "ferrosign is not static" >&2; exit 1; fi; \
    /out/ferrosign --version

FROM scratch
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="ferrosign" \
      org.opencontainers.image.description="Sign container images so that cosign verify accepts them (GitHub container Action)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/acme/ferrosign"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/ferrosign /ferrosign
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# No USER: the runner mounts the workspace and file-command files owned by root; the action writes
# only what it was asked to (step outputs, the job summary, cosign.pub when provisioning).
ENTRYPOINT ["/ferrosign"]
