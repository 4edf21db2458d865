# syntax=docker/dockerfile:1
#
# pd-planner container image: ghcr.io/example/pd-planner:<package.json version>
#
#   docker build -t ghcr.io/example/pd-planner:0.1.0 .
#   docker run --rm ghcr.io/example/pd-planner:0.1.0 simulate --out /tmp/report      # any pd-planner command
#
# Stages: build (TypeScript -> dist/), deps (production node_modules only), init (tini), and the runtime image:
# plain node on compiled JavaScript, no tsx, no dev dependencies, no npm, numeric non-root user, nothing written to
# the root filesystem (reports go where --out says: a mounted volume, or the emptyDir at /tmp).
# Signals: tini is PID 1 and forwards SIGTERM to node, where `run` finishes its tick and releases its Lease; every
# other command ends as node does by default (node as PID 1 would ignore a SIGTERM it has no handler for).
#
# test/integration/production-image.test.ts rebuilds the runtime stage's files from the COPY lines below and runs
# the ENTRYPOINT as the USER from a read-only directory; keep the four stage names it knows (build, deps, init, and
# the unnamed last one), or teach it a new one.

ARG NODE_IMAGE=node:20.20.2-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

FROM ${NODE_IMAGE} AS init
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*

FROM ${NODE_IMAGE}
ARG NODE_IMAGE
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="pd-planner" \
      org.opencontainers.image.description="SLO-driven prefill/decode autoscaler for NVIDIA Dynamo graphs, with an offline what-if simulator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/${NODE_IMAGE}"
# The package managers are not needed at run time: less to patch, less to exploit.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=init /usr/bin/tini-static /usr/bin/tini
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# package.json: "type": "module" makes node load dist/ as ES modules. profiles/: the `builtin:` profiles.
# traces/: the bundled traces (simulate's and sweep's default trace).
COPY package.json ./
COPY profiles ./profiles
COPY traces ./traces
USER 65532:65532
EXPOSE 9090
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/cli/main.js"]
CMD ["--help"]
