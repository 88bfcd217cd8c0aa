# energiepost — one image for every service (auth, files, notify, gateway),
# the one-shot `migrate` step and the `sms-sink` stand-in. compose.yaml picks
# the process via `command:`.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONWARNINGS="ignore::UserWarning:nameko.cli.main,ignore::Warning:nameko.cli.commands"

WORKDIR /app

# Unprivileged runtime user. /data (and /data/blobs) are created here and owned
# by it, so empty named volumes mounted there inherit that ownership.
RUN groupadd --system --gid 10001 energiepost \
 && useradd --system --uid 10001 --gid energiepost --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin energiepost \
 && mkdir -p /data/blobs \
 && chown -R energiepost:energiepost /data

# Dependencies first (pinned), so code changes don't invalidate this layer.
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt

# The project itself (provides the `energiepost` console script).
COPY . .
RUN pip install --no-cache-dir --no-deps . \
 && rm -rf build *.egg-info

USER energiepost

EXPOSE 8000

# Default process; compose.yaml overrides it per service.
CMD ["python", "-m", "ops.serve", "gateway"]
