# The service image for a cluster: ClickHouse, PostgreSQL, Qdrant and Ollama are
# services there, so the embedded ClickHouse (chdb, an optional dependency) is left out.
FROM node:20-bookworm-slim
ENV NODE_ENV=production TZ=UTC
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional && npm cache clean --force
COPY bin ./bin
COPY src ./src
COPY policies ./policies
COPY prompts ./prompts
COPY runbooks ./runbooks
COPY ui ./ui
COPY tsconfig.json ./
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["node", "bin/aiops"]
CMD ["serve"]
