# syntax=docker/dockerfile:1
# Multi-stage: build with dev dependencies, run with production ones only.
# glibc (Debian bookworm) so the uWebSockets.js native build loads; Node 20
# matches @trufflesuite/uws-js-unofficial's binary (ABI 115).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=3000 DATA_DIR=/app/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY public ./public
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
# The embedded PostgreSQL is for a laptop; in a container set DATABASE_URL (and REDIS_URL to scale out).
# Liveness only: /health answers while the process serves. Readiness (dependencies up, not draining)
# is /ready, for a load balancer; restarting the container would not cure a database outage.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# node directly, not npm: npm does not forward SIGTERM, and the server drains on it.
CMD ["node", "dist/index.js"]
