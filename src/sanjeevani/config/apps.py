from django.apps import AppConfig


class PlatformConfig(AppConfig):
    """The settings' own wiring that needs the app registry: how each new PostgreSQL
    connection sends statements (``prepared_statements.follow_pooler_mode``) and how its pool
    checks what it lends (``pool_checks``)."""

    name = "sanjeevani.config"
    label = "platform_config"
    verbose_name = "Platform configuration"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from .pool_checks import check_lent_connections_quickly
        from .prepared_statements import follow_pooler_mode

        connection_created.connect(follow_pooler_mode, dispatch_uid="follow-pooler-mode")
        connection_created.connect(
            check_lent_connections_quickly, dispatch_uid="check-lent-connections-quickly"
        )
