// Server-sent events read from a fetch response's body (fetch, not EventSource, so that a page can
// send a header: the agents' access token, the customers' stream ticket).
//
//   await readEvents(response.body, (type, data) => ...)   // resolves when the server ends the stream
//   data: the frame's JSON ({} when it has none); comments and empty frames are skipped.

function parseFrame(frame) {
  const event = { type: "message", data: "" };
  for (const line of frame.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event.type = value;
    else if (field === "data") event.data += (event.data ? "\n" : "") + value;
  }
  return event;
}

export async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = parseFrame(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (!frame.data && frame.type === "message") continue;
      onEvent(frame.type, frame.data ? JSON.parse(frame.data) : {});
    }
  }
}
