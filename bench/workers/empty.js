// The runtime's ceiling: answers 200 and does nothing else. It reads the body first, because
// Miniflare closes the connection after a response to an unread body, and reconnecting per
// request would make this ceiling lower than the receiver it is compared with.
export default {
  async fetch(request) {
    await request.arrayBuffer();
    return new Response('{"status":"ok"}', { headers: { "content-type": "application/json" } });
  },
};
