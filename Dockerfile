# telco-emulator: docker build -t telco-emulator . && docker run -p 8046:8046 telco-emulator
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY emulator ./emulator
COPY fixtures ./fixtures
COPY specs ./specs
RUN pip install --no-cache-dir . && rm -rf /root/.cache
# Inside the container the emulator listens on 0.0.0.0, so it prints a warning at start unless a
# control token is set. The providers' mounts (/a1, /api) answer any Host. The control API and
# the inbox answer Host names localhost, *.localhost and IP addresses (a guard against DNS
# rebinding): `docker run -p 8046:8046` reached as http://localhost:8046 needs nothing more.
# Reached by another name, e.g. a compose service `emulator` called from other containers:
#   -e TELCO_EMULATOR_ALLOWED_HOSTS=emulator
# Shared beyond your machine: -e TELCO_EMULATOR_CONTROL_TOKEN=<secret> (the pytest plugin and
# `telco-emulator replay` read the same variable); the HEALTHCHECK's /_emulator/health stays open.
ENV TELCO_EMULATOR_HOST=0.0.0.0 \
    TELCO_EMULATOR_PORT=8046
EXPOSE 8046
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8046/_emulator/health')" || exit 1
CMD ["telco-emulator"]
