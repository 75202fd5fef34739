# sidecars injector: a mutating admission webhook that adds sidecars helpers to Pods.
# SIDECARS_BASE is sidecars/base:<version>, built from base.Dockerfile by scripts/build-images.sh.
ARG SIDECARS_BASE=sidecars/base:latest
FROM ${SIDECARS_BASE}
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG SOURCE=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="sidecars-injector" \
      org.opencontainers.image.description="Sidecar injector: a mutating admission webhook that adds sidecars helpers to Pods" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 65532:65532
# glibc raises its mmap threshold as large blocks are freed, and then each TLS connection's
# 256 KiB buffers fragment the heap: kept at 128 KiB, 3,000 new connections leave the
# injector at 37 MiB instead of 41 (benchmarks/injector/footprint.py).
ENV MALLOC_MMAP_THRESHOLD_=131072
EXPOSE 9402
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["sidecars", "probe", "http://127.0.0.1:9402/healthz"]
ENTRYPOINT ["sidecars", "injector"]
