// Every public page (tracker, chat, API reference, errors): each server-rendered <time> in the
// reader's own time zone. A module runs once the document is parsed, like a deferred script.
import { localizeTimes } from "../common/time.js";

localizeTimes();
