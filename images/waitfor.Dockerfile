# sidecars waitfor: an init container that blocks until dependencies answer.
# SIDECARS_BASE is sidecars/base:<version>, built from base.Dockerfile by scripts/build-images.sh.
ARG SIDECARS_BASE=sidecars/base:latest
FROM ${SIDECARS_BASE}
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG SOURCE=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="sidecars-waitfor" \
      org.opencontainers.image.description="Init container: waits until TCP, HTTP, file and DNS dependencies answer" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 65532:65532
EXPOSE 9403
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["sidecars", "probe", "http://127.0.0.1:9403/healthz"]
ENTRYPOINT ["sidecars", "waitfor"]
