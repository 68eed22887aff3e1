# commons — a Nostr relay for communities and places.
#
#   docker build -t commons .
#   docker run -d --name commons -p 7777:7777 -v commons-data:/data commons
#
# The config is read from /config/relay.yaml; the image carries the bundled config/relay.yaml there,
# mount your own over it:  -v "$PWD/relay.yaml:/config/relay.yaml:ro"
# The database lives in the /data volume. See README.md ("Docker") for details.

# Node 24 LTS on Debian 13 (glibc 2.41): the official uWebSockets.js build loads there, so the relay runs its
# native WebSocket server (README "Requirements"). On a base with glibc older than 2.38 and Node 22+ it would
# run the slower portable server and log a warning saying so.
ARG NODE_IMAGE=node:24-trixie-slim

# --- build: compile TypeScript; keep only production dependencies --------------------------------
FROM ${NODE_IMAGE} AS build
# better-sqlite3 downloads a prebuilt binary when one matches; otherwise node-gyp compiles it,
# which needs python3, make and a C++ compiler. libsecp256k1-dev lets the `install` script build the
# optional native verifier (native/secp256k1); without it the relay uses the WASM verifier.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ libsecp256k1-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# The `install` script (run by npm ci) builds native/secp256k1, so it must be there first.
COPY native ./native
RUN npm ci --no-audit --no-fund
# The runtime package of libsecp256k1 differs by release (libsecp256k1-1 on Debian 12, -2 on 13): ask dpkg.
RUN dpkg-query -W -f='${Depends}\n' libsecp256k1-dev | grep -o 'libsecp256k1-[0-9]*' | head -n 1 > native/runtime-package
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# --- runtime --------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    COMMONS_HOST=0.0.0.0 \
    COMMONS_PORT=7777 \
    COMMONS_DB=/data/relay.sqlite
WORKDIR /app
COPY --from=build /app/native/runtime-package /tmp/runtime-package
# The shared library the native verifier links against (verify.implementation: auto picks it up).
RUN apt-get update \
 && apt-get install -y --no-install-recommends "$(cat /tmp/runtime-package)" \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-package
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/native ./native
COPY --from=build /app/dist ./dist
COPY package.json LICENSE ./
COPY config ./config
# The default config; mount a file (or a directory) over /config to use your own.
COPY config/relay.yaml /config/relay.yaml
# A named volume starts out with this directory's owner, so the relay (user node) can write to it.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 7777
# No curl in slim images: ask for the NIP-11 document with node's own fetch.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.COMMONS_PORT||7777)+'/',{headers:{Accept:'application/nostr+json'},signal:AbortSignal.timeout(4000)}).then(r=>r.json()).then(d=>process.exit(Array.isArray(d.supported_nips)?0:1)).catch(()=>process.exit(1))"]
# node runs as PID 1 and handles SIGTERM itself (graceful shutdown, see README.md).
CMD ["node", "dist/main.js", "serve", "--config", "/config/relay.yaml"]
