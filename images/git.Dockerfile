# A Python base for the gitsync image, with git and the ssh client, and tini, which reaps
# git's children: a git command that timed out is killed with its process group, and its
# orphans, children of PID 1, would stay zombies for the life of the container without an init.
# Used when the base comes from a registry (Debian's packages are fetched during the build);
# where no registry is reachable, scripts/images/local-base.sh bakes the same packages into a
# locally built base instead.
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends git openssh-client libnss-wrapper tini \
    && rm -rf /var/lib/apt/lists/*
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG SOURCE=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="sidecars-python-git" \
      org.opencontainers.image.description="Python with git and the ssh client; the base of the sidecars gitsync image" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
