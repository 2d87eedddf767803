# newswatch in a container: non-root user, the database on a volume.
#   docker build -t newswatch .
#   docker run -d --env-file contrib/newswatch.env.example -v newswatch-data:/data newswatch

# Build stage: gcc lets setup.py compile the matcher with mypyc (without it the pure-Python matcher
# would be installed); the runtime image gets only the wheels.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY crawler crawler
COPY alerts alerts
COPY scheduler scheduler
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --create-home --home-dir /home/newswatch newswatch \
    && mkdir /data && chown newswatch /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY config.yaml /etc/newswatch/config.yaml
USER newswatch
ENV NEWSWATCH_DATABASE=/data/newswatch.db
VOLUME ["/data"]
ENTRYPOINT ["newswatch"]
CMD ["run", "--config", "/etc/newswatch/config.yaml", "--log-format", "json"]
