# energiepost — one image for every service (auth, files, notify, gateway), the one-shot `migrate`
# step, the operator's `cli` and the dev profile's `sms-sink`; compose.yaml picks the process.
#
# Two stages: `build` makes a virtualenv with the pinned runtime set (requirements.txt: no pytest,
# Playwright, moto or other test-only package) and the project; the final stage copies only that
# virtualenv and the application's own packages, and runs as an unprivileged user.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
COPY requirements.txt /tmp/requirements.txt
RUN /opt/venv/bin/pip install -r /tmp/requirements.txt
WORKDIR /app
COPY pyproject.toml config.yaml ./
COPY shared ./shared
COPY services ./services
COPY cli ./cli
COPY ops ./ops
# Editable, as `make install` does: the code stays in /app (config.yaml beside it), the venv only
# points there and provides the `energiepost` command. Both paths are the same in the final stage.
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation -e .

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONWARNINGS="ignore::UserWarning:nameko.cli.main,ignore::Warning:nameko.cli.commands"
# Unprivileged runtime user; /data (and /data/blobs) owned by it, so empty named volumes mounted
# there inherit that ownership.
RUN groupadd --system --gid 10001 energiepost \
 && useradd --system --uid 10001 --gid energiepost --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin energiepost \
 && mkdir -p /data/blobs \
 && chown -R energiepost:energiepost /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
USER 10001:10001
EXPOSE 8000
# Default process; compose.yaml sets one per service.
CMD ["python", "-m", "ops.serve", "gateway"]
