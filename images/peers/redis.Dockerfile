# A stand-in for the official redis image, for machines that cannot reach a registry (the
# trial and CI here): Debian's redis-server and redis-cli on the locally built base
# (scripts/images/local-base.sh), run as the redis user, UID 999 as in the official image. Anywhere else, use the official image
# (REDIS_IMAGE in docker-compose.yml defaults to it).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN groupadd --system --gid 999 redis \
    && useradd --system --gid redis --uid 999 --home-dir /var/lib/redis --shell /usr/sbin/nologin redis \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data && chown redis:redis /data
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG SOURCE=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="sidecars-peer-redis" \
      org.opencontainers.image.description="Debian's redis, a local stand-in for the official redis image in the sidecars trial" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 999:999
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
