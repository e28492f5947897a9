# edgewatch: the SDK demo bot and the sidecar (`edgewatch demo`, `edgewatch sidecar`, ...).
#   docker build -t edgewatch . && docker run --rm -v edgewatch:/data edgewatch sidecar
# The ledger lives in /data (EDGEWATCH_DB); mount a volume there and share it between
# the bot and its sidecar.

FROM node:20-bookworm-slim AS build
# better-sqlite3 is compiled from source here (no prebuilt binary download), against the
# headers of this very Node, which the image ships under /usr/local/include/node.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV npm_config_build_from_source=true \
    npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the package's `prepare` (tsc) would run before the sources are here;
# the one native dependency is then built on its own.
RUN npm ci --ignore-scripts \
 && npm rebuild better-sqlite3
COPY . .
RUN npm run build \
 && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    EDGEWATCH_DB=/data/edgewatch.db
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The sidecar serves the runbook at /runbook, where alert notifications link.
COPY --from=build /app/docs/runbook.md ./docs/runbook.md
# A named volume mounted on /data starts as a copy of this directory, owned by `node`.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 9464 9465
ENTRYPOINT ["node", "dist/src/cli/main.js"]
# `start` runs the demo bot and the sidecar together; docker-compose.yml runs them as
# two services (`demo`, `sidecar`).
CMD ["start"]
