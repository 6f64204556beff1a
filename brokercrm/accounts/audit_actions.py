"""What staff access and client logins record in the audit log (`access.*`).

Identity's login, password and second-factor services record these too: they are the client
side of the same access story, so their actions live here with the tokens'.
"""

ROLE_GRANTED = "access.role_granted"
ROLE_REVOKED = "access.role_revoked"

CLIENT_LOGIN_CREATED = "access.client_login_created"
CLIENT_TOKEN_ISSUED = "access.client_token_issued"
CLIENT_TOKEN_REVOKED = "access.client_token_revoked"
# Every token of the login ended, at the client's request.
CLIENT_LOGGED_OUT_EVERYWHERE = "access.client_logged_out_everywhere"
# Every token but the one asking ended.
CLIENT_LOGGED_OUT_ELSEWHERE = "access.client_logged_out_elsewhere"
# Staff ended every session of a client.
CLIENT_SESSIONS_ENDED = "access.client_sessions_ended"
CLIENT_PASSWORD_CHANGED = "access.client_password_changed"
CLIENT_PASSWORD_RESET_REQUESTED = "access.client_password_reset_requested"
CLIENT_PASSWORD_RESET = "access.client_password_reset"
CLIENT_SECOND_FACTOR_ON = "access.client_second_factor_on"
CLIENT_SECOND_FACTOR_OFF = "access.client_second_factor_off"
