// "Share with customer": the ticket's reference, state and what happens next, as plain text for an
// e-mail or a chat (its **bold** reads well in both). The same words as the notifier's e-mails.

const RULE = "━".repeat(29);

const shout = (value) => String(value || "").replace(/_/g, " ").toUpperCase();
const quiet = (value) => String(value || "").replace(/_/g, " ");

export function shareMessage(ticket) {
  const lines = [
    `📋 **Support Ticket Reference: ${ticket.ticket_number}**`,
    "",
    `✅ **Status:** ${shout(ticket.status)}`,
    `⚡ **Priority:** ${shout(ticket.priority)}`,
    `📂 **Category:** ${quiet(ticket.category)}`,
    "",
    `📌 **Issue Title:** ${ticket.title}`,
  ];
  if (ticket.customer_name) lines.push(`👤 **Customer Name:** ${ticket.customer_name}`);
  if (ticket.customer_email) lines.push(`📧 **Email:** ${ticket.customer_email}`);
  lines.push(
    "",
    RULE,
    "",
    "Thank you for contacting us! Your support ticket has been created and assigned to our support team.",
    "",
    "We will review your issue and get back to you as soon as possible.",
    "",
    "**Please save this Reference ID for your records:**",
    `🔖 **${ticket.ticket_number}**`,
    "",
    "You can use this ID to track the status of your ticket.",
  );
  return lines.join("\n");
}
