// undici's package root loads all of undici (fetch, WebSocket, caches, mocks: 109 modules, about a tenth
// of a second of each gateway thread's start); the gateway needs only its Pool (21). undici has no
// exports map and is pinned to an exact version; forwarding tests fail should the path move.
declare module 'undici/lib/dispatcher/pool.js' {
  import { Pool } from 'undici';
  export default Pool;
}
