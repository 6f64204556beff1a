"""Portal pages. They answer on a brand's host, or under /b/<brand>/ (the middleware strips
the prefix before these patterns are matched). The e-mail links' paths (/verify-email,
/reset-password) are fixed by identity.mail."""

from django.urls import path

from .views import (
    account,
    dashboard,
    documents,
    history,
    ib,
    money,
    notifications,
    profile,
    registration,
    trading,
    two_factor,
    verification,
)

app_name = "portal"

urlpatterns = [
    path("", account.home, name="home"),
    path("portal/", account.home),
    path("login/", account.login, name="login"),
    path("logout/", account.logout, name="logout"),
    path("language/", account.language, name="language"),
    path("theme.css", account.theme, name="theme"),
    path("password-reset/", account.password_reset, name="password_reset"),
    path("reset-password", account.password_reset_confirm, name="password_reset_confirm"),
    path("verify-email", account.verify_email, name="verify_email"),
    path("login/code/", two_factor.login_code, name="login_code"),
    path("client/", dashboard.dashboard, name="dashboard"),
    path("client/security/two-step/", two_factor.two_factor_page, name="two_factor"),
    path("client/security/two-step/start/", two_factor.two_factor_start, name="two_factor_start"),
    path("client/deposit/", money.deposit, name="deposit"),
    path("client/deposit/return/", money.deposit_return, name="deposit_return"),
    path("client/withdraw/", money.withdraw, name="withdraw"),
    path("client/transfer/", trading.transfer, name="transfer"),
    path("client/accounts/", trading.accounts, name="accounts"),
    path("client/accounts/<int:account_id>/", trading.account, name="account"),
    path("client/history/", history.history, name="history"),
    path("register/", registration.register, name="register"),
    path("register/done/", registration.register_done, name="register_done"),
    path("register/<slug:step>/", registration.register_step, name="register_step"),
    path("client/verification/", verification.verification, name="verification"),
    path("client/verification/email/", verification.email_resend, name="email_resend"),
    path("client/verification/consent/", verification.consent_accept, name="consent_accept"),
    path(
        "client/verification/questionnaire/",
        verification.questionnaire,
        name="kyc_questionnaire",
    ),
    path(
        "client/verification/appropriateness/",
        verification.appropriateness,
        name="kyc_appropriateness",
    ),
    path("client/verification/upload/<slug:kind>/", verification.upload, name="kyc_upload"),
    path(
        "client/verification/documents/<int:document_id>/",
        verification.kyc_document,
        name="kyc_document",
    ),
    path("client/verification/liveness/", verification.liveness_start, name="kyc_liveness"),
    path("client/verification/submit/", verification.kyc_submit, name="kyc_submit"),
    path("client/profile/", profile.profile, name="profile"),
    path("client/profile/contact/", profile.contact, name="profile_contact"),
    path("client/profile/password/", profile.password, name="profile_password"),
    path("client/profile/sessions/end/", profile.sessions_end, name="profile_sessions_end"),
    path("client/documents/", documents.documents, name="documents"),
    path("client/documents/<int:document_id>/", documents.document, name="document"),
    path("client/documents/<int:document_id>/accept/", documents.accept, name="document_accept"),
    path("client/notifications/", notifications.notifications, name="notifications"),
    path(
        "client/notifications/<int:notification_id>/read/",
        notifications.read,
        name="notification_read",
    ),
    path("client/notifications/read-all/", notifications.read_all, name="notifications_read_all"),
    path("client/ib/", ib.ib_area, name="ib"),
]
