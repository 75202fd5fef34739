# sidecars nginxlog: the adapter that turns NGINX access logs into Prometheus metrics.
# Nothing beyond Python and the sidecars package.
# SIDECARS_BASE is sidecars/base:<version>, built from base.Dockerfile by scripts/build-images.sh.
ARG SIDECARS_BASE=sidecars/base:latest
FROM ${SIDECARS_BASE}
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG SOURCE=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="sidecars-nginxlog" \
      org.opencontainers.image.description="Adapter: turns NGINX access logs into Prometheus metrics" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 65532:65532
EXPOSE 4040
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["sidecars", "probe", "http://127.0.0.1:4040/healthz"]
ENTRYPOINT ["sidecars", "nginxlog"]
