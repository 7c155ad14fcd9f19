# The crawler image for docker-compose.yml: talks to the compose file's mongod through MONGO_URI, so neither the
# embedded-server extra nor the replay (development only) is installed. Versions come from requirements.lock,
# the ones `make test` passed with.
FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home newscrawler \
    && mkdir /data && chown newscrawler:newscrawler /data
WORKDIR /app
COPY requirements.lock pyproject.toml README.md LICENSE scrapy.cfg ./
COPY newscrawler ./newscrawler
RUN pip install --no-cache-dir -c requirements.lock --upgrade pip \
    && pip install --no-cache-dir -c requirements.lock . \
    && rm -rf build newscrawler.egg-info
USER newscrawler
ENV NEWSCRAWLER_DATA_DIR=/data
VOLUME ["/data"]
ENTRYPOINT ["newscrawler"]
CMD ["crawl"]
