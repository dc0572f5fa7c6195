# syntax=docker/dockerfile:1
# The careergraph server image: `docker build -t careergraph .`, or `docker compose build`.
# See "Deploying" in README.md.

# cargo-chef splits the build: dependencies in a layer of their own, rebuilt only when the
# manifests or Cargo.lock change, then the workspace's own code.
FROM rust:1.95-bookworm AS chef
RUN cargo install --locked cargo-chef@0.1.78
WORKDIR /src

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS build
COPY --from=planner /src/recipe.json recipe.json
# Build-time settings (jemalloc's) belong to the dependency layer too.
COPY .cargo .cargo
RUN cargo chef cook --release --locked --recipe-path recipe.json --package careergraph-gateway --bin careergraph
COPY . .
RUN cargo build --release --locked --package careergraph-gateway --bin careergraph

# The runtime: Debian slim (the binary links glibc), no compiler, no shell tools beyond the base,
# a user of its own.
FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 careergraph \
    && useradd --system --uid 10001 --gid careergraph --home-dir /var/lib/careergraph --shell /usr/sbin/nologin careergraph \
    && install -d -o careergraph -g careergraph -m 0700 /var/lib/careergraph
COPY --from=build /src/target/release/careergraph /usr/local/bin/careergraph
ENV CAREERGRAPH_LISTEN=0.0.0.0:8080 \
    CAREERGRAPH_DATA_DIR=/var/lib/careergraph \
    CAREERGRAPH_LOG_FORMAT=json
USER careergraph:careergraph
WORKDIR /var/lib/careergraph
VOLUME ["/var/lib/careergraph"]
# 8080: the API and the playground. 9090: metrics, when CAREERGRAPH_METRICS_LISTEN is set;
# publish it to your monitoring network only.
EXPOSE 8080 9090
# Ready: the server answers and reaches its database. The slim image has no curl.
HEALTHCHECK --interval=10s --timeout=6s --start-period=30s --retries=3 CMD ["careergraph", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["careergraph"]
CMD ["serve"]
