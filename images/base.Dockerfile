# The layer every helper image starts from: Python, the sidecars package installed from the
# wheelhouse in the build context (no network needed), a numeric non-root user and an
# environment that works on a read-only root filesystem with a writable /tmp.
# Built by scripts/build-images.sh as sidecars/base:<version> (and, on a base that carries
# git and ssh, as sidecars/base-git:<version> for the gitsync image).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS install
COPY wheels/ /tmp/wheels/
# pip and setuptools are only needed to install; the images run without them.
RUN python3 -m venv /opt/sidecars \
    && /opt/sidecars/bin/pip install --no-cache-dir --no-index --find-links=/tmp/wheels sidecars \
    && /opt/sidecars/bin/pip uninstall --yes --quiet setuptools pip \
    && /opt/sidecars/bin/sidecars --version

FROM ${BASE_IMAGE}
# PATH is spelled out because some runtimes (podman kube play) do not inherit it from the base.
ENV PATH=/opt/sidecars/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# A passwd entry for the numeric user, so ssh and git can name it; any other UID works too.
RUN echo 'sidecars:x:65532:65532:sidecars:/tmp:/usr/sbin/nologin' >> /etc/passwd \
    && echo 'sidecars:x:65532:' >> /etc/group
COPY --from=install /opt/sidecars /opt/sidecars
# Labels last: a new revision then changes no layer.
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="sidecars-base" \
      org.opencontainers.image.description="Python and the sidecars package; the base of the sidecars helper images" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 65532:65532
WORKDIR /tmp
