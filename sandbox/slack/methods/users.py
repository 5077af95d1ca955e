"""``auth.test``, ``users.*`` and ``usergroups.*``: who is who, and who is on call."""

from __future__ import annotations

from sandbox.slack.errors import SlackError
from sandbox.slack.methods.call import Call, Method, Result
from sandbox.slack.people import APP_ID, BOT_ID, BOT_NAME, BOT_USER_ID, TEAM_ID, UserGroup
from sandbox.slack.workspace import TEAM_DOMAIN, TEAM_NAME


def auth_test(call: Call) -> Result:  # noqa: ARG001 - uniform method signature
    """``auth.test``: who the token belongs to."""
    return {
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": TEAM_NAME,
        "user": BOT_NAME,
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "is_enterprise_install": False,
    }


def users_info(call: Call) -> Result:
    """``users.info``: one member, time zone and profile included."""
    user = call.ws.user(call.args.required("user"))
    return {"user": user.to_api(call.ws.clock())}


def users_list(call: Call) -> Result:
    """``users.list``: every member, the bot included, paginated by cursor."""
    now = call.ws.clock()
    page, cursor = call.args.paginate(list(call.ws.users.values()), default=1000, maximum=1000)
    return {
        "members": [user.to_api(now) for user in page],
        "cache_ts": int(now),
        "response_metadata": {"next_cursor": cursor},
    }


def users_lookup_by_email(call: Call) -> Result:
    """``users.lookupByEmail``: the member with that email address."""
    email = call.args.required("email").lower()
    for user in call.ws.users.values():
        if user.email == email:
            return {"user": user.to_api(call.ws.clock())}
    raise SlackError("users_not_found")


def _usergroup(call: Call) -> UserGroup:
    group = call.ws.usergroups.get(call.args.required("usergroup"))
    if group is None:
        raise SlackError("no_such_subteam")
    return group


def usergroups_list(call: Call) -> Result:
    """``usergroups.list``: the workspace's user groups (members with ``include_users``)."""
    include_users, include_count = call.args.flag("include_users"), call.args.flag("include_count")
    groups = []
    for group in call.ws.usergroups.values():
        body = group.to_api(include_users=include_users)
        if not include_count:
            body.pop("user_count")
        groups.append(body)
    return {"usergroups": groups}


def usergroups_users_list(call: Call) -> Result:
    """``usergroups.users.list``: the members of one group."""
    return {"users": list(_usergroup(call).users)}


def usergroups_users_update(call: Call) -> Result:
    """``usergroups.users.update``: replace a group's members with ``users`` (not a merge)."""
    group = _usergroup(call)
    users = call.args.csv("users")
    if not users:
        raise SlackError("no_users_provided")
    if any(user not in call.ws.users or call.ws.users[user].is_bot for user in users):
        raise SlackError("invalid_users")
    call.ws.set_members(group, users)
    return {"usergroup": group.to_api(include_users=True)}


METHODS: dict[str, Method] = {
    "auth.test": auth_test,
    "usergroups.list": usergroups_list,
    "usergroups.users.list": usergroups_users_list,
    "usergroups.users.update": usergroups_users_update,
    "users.info": users_info,
    "users.list": users_list,
    "users.lookupByEmail": users_lookup_by_email,
}
