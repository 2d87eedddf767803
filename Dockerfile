# newswatch in a container: non-root user, the database on a volume.
#   docker build -t newswatch .
#   docker run -d --env-file contrib/newswatch.env.example -v newswatch-data:/data newswatch

# Build stage: gcc lets setup.py compile the matcher with mypyc (without it the pure-Python matcher
# would be installed); the runtime image gets only the wheels.
# Debian 12 (bookworm) is pinned with the base image, so the apt versions below exist (hadolint DL3008).
FROM python:3.11-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc=4:12.2.* libc6-dev=2.36-* \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY crawler crawler
COPY alerts alerts
COPY scheduler scheduler
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim-bookworm
RUN useradd --system --create-home --home-dir /home/newswatch newswatch \
    && mkdir /data && chown newswatch /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY config.yaml /etc/newswatch/config.yaml
COPY contrib/healthcheck.py /usr/local/lib/newswatch-healthcheck.py
USER newswatch
ENV NEWSWATCH_DATABASE=/data/newswatch.db
VOLUME ["/data"]
# Healthy while the daemon's heartbeat (stamped in the database every few seconds) is under 2 minutes
# old; works without the metrics server. With `metrics: {port: ...}` set, /healthz tells the same.
HEALTHCHECK --interval=60s --timeout=30s --start-period=120s --retries=3 \
    CMD ["python", "/usr/local/lib/newswatch-healthcheck.py", "120", "--config", "/etc/newswatch/config.yaml"]
ENTRYPOINT ["newswatch"]
CMD ["run", "--config", "/etc/newswatch/config.yaml", "--log-format", "json"]
