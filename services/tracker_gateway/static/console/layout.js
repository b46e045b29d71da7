// What every console page does: signing out (revoking the page's token, telling the other tabs).
import { wireSignOut } from "./session.js";

wireSignOut(document.getElementById("logout-form"));
