# sidecars gitsync: the sidecar that keeps a volume in sync with a git repository.
# Its base carries git, the ssh client and tini (base-git: base.Dockerfile on git.Dockerfile).
# SIDECARS_BASE is sidecars/base-git:<version>, built from base.Dockerfile by scripts/build-images.sh.
ARG SIDECARS_BASE=sidecars/base-git:latest
FROM ${SIDECARS_BASE}
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG SOURCE=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="sidecars-gitsync" \
      org.opencontainers.image.description="Sidecar: keeps a directory in sync with a git repository (https, ssh, git, file); one-shot mode for init containers" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 65532:65532
EXPOSE 9400
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["sidecars", "probe", "http://127.0.0.1:9400/healthz"]
# tini as PID 1 reaps the orphans of git commands killed on timeout (see git.Dockerfile) and
# passes SIGTERM on to sidecars gitsync, whose exit code it returns.
ENTRYPOINT ["tini", "--", "sidecars", "gitsync"]
