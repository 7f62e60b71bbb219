# The stack-sync processes (api, cdc, sink, or all three) for docker-compose.yml.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci patches kafkajs and drizzle-orm after installing them (postinstall).
COPY infra/dependency-patches ./infra/dependency-patches
RUN npm ci --omit=dev --no-audit --no-fund
COPY tsconfig.json ./
COPY schema ./schema
COPY cdc ./cdc
COPY sinks ./sinks
COPY api ./api
COPY infra ./infra
ENV NODE_ENV=production
ENTRYPOINT ["npx", "tsx", "infra/main.ts"]
CMD ["all"]
