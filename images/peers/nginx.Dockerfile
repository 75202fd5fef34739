# A stand-in for the official nginx image, for machines that cannot reach a registry (the
# trial and CI here): Debian's nginx on the locally built base (scripts/images/local-base.sh).
# Like the official image it serves /usr/share/nginx/html, includes /etc/nginx/conf.d/*.conf,
# logs to the container's output and stops gracefully on SIGQUIT. Anywhere else, use the
# official image (NGINX_IMAGE in docker-compose.yml defaults to it).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light \
    && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/default \
    && mkdir -p /usr/share/nginx/html \
    && ln -sf /dev/stdout /var/log/nginx/access.log \
    && ln -sf /dev/stderr /var/log/nginx/error.log
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG SOURCE=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="sidecars-peer-nginx" \
      org.opencontainers.image.description="Debian's nginx, a local stand-in for the official nginx image in the sidecars trial" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
EXPOSE 80
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
