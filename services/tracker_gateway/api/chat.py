"""The agent API's chat surface: the client's conversations, their threads, replies, read markers,
assignment, closing, and tickets made from a conversation. Thin views over the chat service,
always scoped to the client in the access token."""
import uuid

import sqlalchemy as sa
from flask import Blueprint, g, jsonify, request
from marshmallow import ValidationError as SchemaError

from services.tracker_gateway.accounts.models import Agent
from services.tracker_gateway.accounts.tokens import login_required
from services.tracker_gateway.api import chat_schemas, schemas, transcript
from services.tracker_gateway.api.openapi import CLOSED, documented
from services.tracker_gateway.api.tickets import create_once
from services.tracker_gateway.core import db
from services.tracker_gateway.core.rpc import chat

bp = Blueprint("api_chat", __name__, url_prefix="/api/chat/conversations")


def _body(schema):
    return schemas.load(schema, request.get_json(silent=True))


def _client_id():
    return g.principal.client_id


def agent_name():
    """The name customers see on the agent's replies (the token carries the e-mail, not the name)."""
    agent = db.session().get(Agent, uuid.UUID(g.principal.agent_id))
    return agent.name if agent is not None else g.principal.email


@bp.get("")
@documented("chat", query=chat_schemas.ChatListQuerySchema, responses={
    200: ("One page", chat_schemas.ConversationPageSchema)})
@login_required
def list_conversations():
    """One page of the client's conversations, newest activity first, with unread counts."""
    filters = schemas.load(chat_schemas.CONVERSATION_LIST_QUERY, request.args.to_dict())
    return jsonify(chat().list_conversations({**filters, "client_id": _client_id()}))


@bp.get("/<conversation_id>")
@documented("chat", query=chat_schemas.MessagePageSchema, responses={
    200: ("The conversation and one page of messages", chat_schemas.AgentThreadSchema)})
@login_required
def get_conversation(conversation_id):
    """A conversation with one page of messages (?before= older, ?after= newer, by message id)."""
    page = schemas.load(chat_schemas.THREAD_QUERY, request.args.to_dict())
    return jsonify(chat().get_conversation(conversation_id, client_id=_client_id(), **page))


@bp.post("/<conversation_id>/messages")
@documented("chat", body=chat_schemas.ChatMessageSchema, responses={
    201: ("The message", chat_schemas.MessageSchema), **CLOSED})
@login_required
def post_message(conversation_id):
    """The agent's reply, signed with the agent's name."""
    data = _body(chat_schemas.MESSAGE)
    message = chat().post_message(
        conversation_id,
        {"body": data["body"], "author": "agent", "author_name": agent_name(), "author_id": g.principal.email},
        client_id=_client_id(),
    )
    return jsonify(message), 201


@bp.post("/<conversation_id>/read")
@documented("chat", body=chat_schemas.ReadSchema, responses={
    200: ("The conversation", chat_schemas.AgentConversationViewSchema)})
@login_required
def mark_read(conversation_id):
    """The agents have seen the thread up to a message id (markers only move forward)."""
    data = _body(chat_schemas.READ)
    return jsonify(chat().mark_read(conversation_id, data["up_to"], client_id=_client_id()))


@bp.post("/<conversation_id>/assign")
@documented("chat", body=chat_schemas.ChatAssignSchema, responses={
    200: ("The conversation", chat_schemas.AgentConversationViewSchema), **CLOSED})
@login_required
def assign(conversation_id):
    """Give the conversation to an agent of the same client (by e-mail), or to nobody (null)."""
    agent = _body(chat_schemas.ASSIGN)["agent"]
    if agent is not None:
        agent = agent.strip().lower()
        known = db.session().scalar(sa.select(Agent.id).where(
            Agent.email == agent, Agent.client_id == uuid.UUID(_client_id()), Agent.active.is_(True)))
        if known is None:
            raise SchemaError({"agent": ["No such agent in this client."]})
    return jsonify(chat().assign(conversation_id, agent, actor=g.principal.email, client_id=_client_id()))


@bp.post("/<conversation_id>/close")
@documented("chat", responses={200: ("The conversation", chat_schemas.AgentConversationViewSchema)})
@login_required
def close(conversation_id):
    """Close the conversation (the thread says so; closing twice changes nothing)."""
    return jsonify(chat().close_conversation(conversation_id, actor=g.principal.email, client_id=_client_id()))


@bp.get("/<conversation_id>/ticket-draft")
@documented("chat", responses={200: ("The pre-filled fields", chat_schemas.TicketDraftSchema)})
@login_required
def ticket_draft(conversation_id):
    """The "Create Ticket" dialog's pre-filled fields: customer, title, transcript excerpt."""
    return jsonify(chat().ticket_draft(conversation_id, client_id=_client_id()))


@bp.post("/<conversation_id>/ticket")
@documented("chat", body=chat_schemas.ChatTicketSchema, responses={
    201: ("Created; the thread links it", schemas.TicketSchema)})
@login_required
def create_ticket(conversation_id):
    """A ticket from this conversation, created by the agent; the chat service then links it and
    says so in the thread (on ticket.created). The customer's details default to the conversation's;
    the chat's transcript becomes the ticket's first thread entries."""
    data = _body(chat_schemas.CHAT_TICKET)
    selected = data.pop("message_ids", None)
    # 404 for a conversation outside the agent's client, before any ticket exists.
    conversation = chat().get_conversation(conversation_id, client_id=_client_id(), limit=1)["conversation"]
    data.setdefault("customer_name", conversation["customer_name"])
    data.setdefault("customer_email", conversation["customer_email"])
    messages = transcript.select(transcript.fetch_transcript(conversation["id"], _client_id()), selected)
    data.update(conversation_id=conversation["id"], client_id=_client_id(), created_by=g.principal.email,
                channel="chat", messages=transcript.thread_entries(messages, conversation["customer_email"]))
    return jsonify(create_once(data)), 201
