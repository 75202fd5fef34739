# sidecars ambassador: the ambassador that forwards the app's local connections to upstreams.
# SIDECARS_BASE is sidecars/base:<version>, built from base.Dockerfile by scripts/build-images.sh.
ARG SIDECARS_BASE=sidecars/base:latest
FROM ${SIDECARS_BASE}
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG SOURCE=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="sidecars-ambassador" \
      org.opencontainers.image.description="Ambassador: TCP and HTTP forwarding proxy with load balancing, health checks and TLS origination" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 65532:65532
EXPOSE 9401
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["sidecars", "probe", "http://127.0.0.1:9401/healthz"]
ENTRYPOINT ["sidecars", "ambassador"]
