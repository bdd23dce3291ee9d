# telco-emulator: docker build -t telco-emulator . && docker run -p 8046:8046 telco-emulator
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY emulator ./emulator
COPY fixtures ./fixtures
COPY specs ./specs
RUN pip install --no-cache-dir . && rm -rf /root/.cache
ENV TELCO_EMULATOR_HOST=0.0.0.0 \
    TELCO_EMULATOR_PORT=8046
EXPOSE 8046
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8046/_emulator/health')" || exit 1
CMD ["telco-emulator"]
