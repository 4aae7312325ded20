"""Sign-in mutations: register, login, logout, changePassword."""

from __future__ import annotations

from typing import Annotated

import strawberry

from resolvers import auth, members
from schema.context import Info
from schema.errors import INPUT, UserError, user_errors
from schema.members import Member


@strawberry.input(description="A new account. Every new member starts with the MEMBER role.")
class RegisterInput:
    name: str = strawberry.field(description="Full name (at most 200 characters).")
    email: str = strawberry.field(description="Email address; it is the sign-in name.")
    password: str = strawberry.field(description="At least 10 and at most 256 characters.")


@strawberry.type(
    description=(
        "Result of `register`. To reveal nothing about which emails have accounts, the answer "
        "is the same whether or not the email was already registered: sign in with `login` next."
    )
)
class RegisterPayload:
    accepted: bool = strawberry.field(description="The input was valid and has been processed.")
    errors: list[UserError] = strawberry.field(description="Why the input was refused, if so.")


async def register(info: Info, input: Annotated[RegisterInput, INPUT]) -> RegisterPayload:
    problems = await auth.register(
        info.context.db.sessions,
        info.context.auth,
        auth.Registration(name=input.name, email=input.email, password=input.password),
        client_address=info.context.client_address,
    )
    return RegisterPayload(accepted=not problems, errors=user_errors(problems))


@strawberry.input(description="Credentials to sign in with.")
class LoginInput:
    email: str = strawberry.field(description="Email address of the account.")
    password: str = strawberry.field(description="Password of the account.")


@strawberry.type(description="Result of a sign-in: a token to send as `Authorization: Bearer`.")
class SignInPayload:
    token: str | None = strawberry.field(
        description="Opaque session token; it expires, and logout or a password change revokes it."
    )
    viewer: Member | None = strawberry.field(description="The member now signed in.")
    errors: list[UserError] = strawberry.field(description="Why no token was issued, if so.")


async def _sign_in_payload(info: Info, result: auth.SignInResult) -> SignInPayload:
    viewer = None
    if result.viewer is not None and result.viewer.member_id is not None:
        # This request carries no token yet: read the member as the member sees themself.
        rows = await members.members_by_ids(
            info.context.db.sessions, result.viewer, [result.viewer.member_id]
        )
        viewer = Member.from_row(rows[0], reader=result.viewer) if rows[0] is not None else None
    return SignInPayload(token=result.token, viewer=viewer, errors=user_errors(result.problems))


async def login(info: Info, input: Annotated[LoginInput, INPUT]) -> SignInPayload:
    result = await auth.login(
        info.context.db.sessions,
        info.context.auth,
        email=input.email,
        password=input.password,
        client_address=info.context.client_address,
    )
    return await _sign_in_payload(info, result)


@strawberry.type(description="Result of `logout`.")
class LogoutPayload:
    logged_out: bool = strawberry.field(description="The token of this request is now revoked.")
    errors: list[UserError] = strawberry.field(description="Why not, if so.")


async def logout(info: Info) -> LogoutPayload:
    problems = await auth.logout(info.context.db.sessions, info.context.events, info.context.viewer)
    return LogoutPayload(logged_out=not problems, errors=user_errors(problems))


@strawberry.input(
    description="Change your password; every session ends and this one gets a new token."
)
class ChangePasswordInput:
    current_password: str = strawberry.field(description="Your password now.")
    new_password: str = strawberry.field(description="The new password (10 to 256 characters).")


async def change_password(
    info: Info, input: Annotated[ChangePasswordInput, INPUT]
) -> SignInPayload:
    result = await auth.change_password(
        info.context.db.sessions,
        info.context.events,
        info.context.auth,
        info.context.viewer,
        current_password=input.current_password,
        new_password=input.new_password,
    )
    return await _sign_in_payload(info, result)
