# newswatch in a container: non-root user, the database on a volume.
#   docker build -t newswatch .
#   docker run -d --env-file contrib/newswatch.env.example -v newswatch-data:/data newswatch
FROM python:3.11-slim
RUN useradd --system --create-home --home-dir /home/newswatch newswatch \
    && mkdir /data && chown newswatch /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY crawler crawler
COPY alerts alerts
COPY scheduler scheduler
RUN pip install --no-cache-dir .
COPY config.yaml /etc/newswatch/config.yaml
USER newswatch
ENV NEWSWATCH_DATABASE=/data/newswatch.db
VOLUME ["/data"]
ENTRYPOINT ["newswatch"]
CMD ["run", "--config", "/etc/newswatch/config.yaml", "--log-format", "json"]
