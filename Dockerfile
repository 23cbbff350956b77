# The service for a server with its own PostgreSQL (DATABASE_URL): no embedded database, no build tools.
# `bun install` needs package.json, bun.lock, bunfig.toml and patches/ (postgres.js is patched at install):
# api/test/platform/dockerfile.test.ts rebuilds each stage's files in a folder and runs its install there.

# 1. Build the settings page (Vite + SolidJS are dev dependencies).
FROM oven/bun:1 AS ui
WORKDIR /app
COPY package.json bun.lock bunfig.toml tsconfig.json ./
COPY patches ./patches
RUN bun install --frozen-lockfile --ignore-scripts
COPY ui ./ui
COPY api/src/platform/ui-build.ts ./api/src/platform/ui-build.ts
RUN bun api/src/platform/ui-build.ts --force

# 2. Runtime: production dependencies only, the API source, the SQL and the built page.
FROM oven/bun:1-slim
WORKDIR /app
ENV NODE_ENV=production PORT=3000 HOST=0.0.0.0 DATA_DIR=/app/data
COPY package.json bun.lock bunfig.toml ./
COPY patches ./patches
RUN bun install --frozen-lockfile --production --ignore-scripts && rm -rf ~/.bun/install/cache
COPY api/src ./api/src
COPY sql ./sql
COPY --from=ui /app/ui/dist ./ui/dist
RUN mkdir -p /app/data && chown -R bun:bun /app/data
USER bun
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD bun -e "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
CMD ["bun", "api/src/main.ts"]
