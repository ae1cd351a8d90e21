#!/usr/bin/env node
// The `lifeline-server` command. A committed file, so that installing the workspace can link the bin
// before anything is built; the server itself is dist/main.js.
import '../dist/main.js'
