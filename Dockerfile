# One image for every service; docker-compose picks the service by command.
FROM node:20-bookworm-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/schema ./schema
COPY --from=build /app/board/dist ./board/dist
COPY package.json ./
RUN mkdir -p /var/lib/cds && chown node:node /var/lib/cds
USER node
ENTRYPOINT ["node", "dist/bin/serve.js"]
