# The layer every helper image starts from: Python, the sidecars package installed from the
# wheelhouse in the build context (no network needed), a numeric non-root user and an
# environment that works on a read-only root filesystem with a writable /tmp.
# Built by scripts/build-images.sh as sidecars/base:<version> (and, on a base that carries
# git and ssh, as sidecars/base-git:<version> for the gitsync image).
# The final stage is the install stage's root after slim.py, copied onto an empty image: one
# layer without pip, apt, dpkg's tools, perl, docs or test suites (see slim.py for the list).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS install
COPY wheels/ /tmp/wheels/
COPY slim.py /tmp/slim.py
# pip and setuptools are only needed to install; the images run without them.
RUN python3 -m venv /opt/sidecars \
    && /opt/sidecars/bin/pip install --no-cache-dir --no-index --find-links=/tmp/wheels sidecars \
    && /opt/sidecars/bin/pip uninstall --yes --quiet setuptools pip \
    && /opt/sidecars/bin/sidecars --version \
    && echo 'sidecars:x:65532:65532:sidecars:/tmp:/usr/sbin/nologin' >> /etc/passwd \
    && echo 'sidecars:x:65532:' >> /etc/group \
    && python3 /tmp/slim.py \
    && /opt/sidecars/bin/sidecars list

FROM scratch
# PATH is spelled out because some runtimes (podman kube play) do not inherit it from the base.
# The passwd entry of the numeric user (written above) lets ssh and git name it; any UID works.
ENV PATH=/opt/sidecars/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 \
    HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# The whole root on purpose: that is what makes the removed files weigh nothing.
# hadolint ignore=DL3067
COPY --from=install / /
# Labels last: a new revision then changes no layer.
ARG VERSION=0.0.0
ARG REVISION=unknown
ARG SOURCE=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="sidecars-base" \
      org.opencontainers.image.description="Python and the sidecars package; the base of the sidecars helper images and of your own" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 65532:65532
WORKDIR /tmp
