# syntax=docker/dockerfile:1
# The `kvass` image the Kubernetes manifests (deploy/kubernetes/) name:
#   docker build -t kvass:0.1.0 .
# One image for every kvass command (coordinator, sidecar, query, fake-targets, targets, up); ENTRYPOINT is the
# `kvass` launcher (bin/kvass), so `docker run kvass:0.1.0 coordinator --help` works.

# --- build: the same two steps CI runs (`npm ci`, then `npm run build`: tsc of the project and of the console) -----
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
# CI runs this step (through `make deps`: npm ci --no-audit --no-fund).
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src/ src/
COPY test/ test/
COPY bench/ bench/
# CI runs this step (through `make build`: the same two tsc projects). It compiles the tests and benchmarks too,
# as CI does, so a type error anywhere fails the image as it fails CI; only dist/src/ and dist/console/ go into the
# image.
RUN npm run build

# --- the Prometheus binaries `kvass query` (the global querier) and `kvass up` run, from the official image ---------
FROM prom/prometheus:v2.42.0 AS prometheus

# --- runtime -------------------------------------------------------------------------------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Runtime dependencies only, from the lock file (not run by CI).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist/src/ dist/src/
COPY --from=build /src/dist/console/ dist/console/
COPY bin/kvass bin/kvass
COPY --from=prometheus /bin/prometheus /bin/promtool /usr/local/bin/
# `kvass` on PATH: the launcher finds dist/ through the symlink (readlink -f).
RUN chmod 0755 bin/kvass && ln -s /app/bin/kvass /usr/local/bin/kvass
# nobody:nogroup. Numeric, so that Kubernetes can check runAsNonRoot; the manifests run as 65534 too.
USER 65534:65534
ENTRYPOINT ["kvass"]
CMD ["--help"]
