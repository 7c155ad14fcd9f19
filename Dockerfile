# The crawler image for docker-compose.yml: talks to the compose file's mongod through MONGO_URI, so the
# embedded-server extra is not installed.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md scrapy.cfg ./
COPY newscrawler ./newscrawler
RUN pip install --no-cache-dir .
ENV NEWSCRAWLER_DATA_DIR=/data
VOLUME ["/data"]
ENTRYPOINT ["newscrawler"]
CMD ["crawl"]
