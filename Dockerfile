# syntax=docker/dockerfile:1
# One image for both the HTTP API and the Temporal worker; docker-compose.yml picks the role with
# RUN_API / RUN_WORKER. TypeScript runs through tsx (a runtime dependency), so there is no build step.

# Debian (glibc), not Alpine: @temporalio/core-bridge ships prebuilt native binaries for glibc.
FROM node:20-bookworm-slim

WORKDIR /app

# No update checks from npx at start-up (the container usually has no business calling the registry).
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false

# Manifests first, so the dependency layer is reused until package*.json change.
COPY package.json package-lock.json ./
RUN npm ci && npm cache clean --force

COPY . .

# Set after `npm ci`: before it, npm would silently skip devDependencies.
ENV NODE_ENV=production

# Files stay owned by root (read-only for the app); the process runs unprivileged.
USER node

EXPOSE 3000

CMD ["npx", "tsx", "main.ts"]
