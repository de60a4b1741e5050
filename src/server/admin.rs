//! Operator actions across accounts and organizations. Callers must already have checked the operator role.

use crate::model::ids::AccountId;

use crate::model::admin::{AdminAccount, AdminApp, AdminOrg, AdminOverview};
use crate::model::app::Plan;
use crate::model::AppError;
use crate::server::error::internal;
use crate::server::store::Store;

#[derive(Clone)]
pub struct Admin {
    store: Store,
}

impl Admin {
    pub fn new(store: Store) -> Self {
        Admin { store }
    }

    pub async fn overview(&self) -> Result<AdminOverview, AppError> {
        let accounts = self
            .store
            .account_overview()
            .await?
            .into_iter()
            .map(|a| AdminAccount {
                id: a.id,
                email: a.email,
                is_operator: a.is_operator,
                disabled: a.disabled_at.is_some(),
                app_count: a.app_count,
                email_verified: a.email_verified_at.is_some(),
                two_factor: a.totp_enabled_at.is_some(),
            })
            .collect();
        let apps = self
            .store
            .all_apps()
            .await?
            .into_iter()
            .map(|(app, organization)| {
                let plan = Plan::parse(&app.plan).map_err(|_| {
                    internal(format!("unknown plan {:?} in the database", app.plan))
                })?;
                Ok(AdminApp {
                    public_id: app.id,
                    name: app.name,
                    organization,
                    plan,
                    endpoint_count: app.endpoint_count,
                })
            })
            .collect::<Result<_, AppError>>()?;
        let orgs = self
            .store
            .org_overview()
            .await?
            .into_iter()
            .map(|org| AdminOrg {
                id: org.id,
                name: org.name,
                members: org.members,
                apps: org.apps,
            })
            .collect();
        Ok(AdminOverview {
            accounts,
            orgs,
            apps,
        })
    }

    /// Disables or re-enables an account; operators cannot lock themselves out.
    pub async fn set_account_disabled(
        &self,
        operator_id: &AccountId,
        account_id: &AccountId,
        disabled: bool,
    ) -> Result<(), AppError> {
        if disabled && operator_id == account_id {
            return Err(AppError::invalid(
                "disabled",
                "You cannot disable your own account.",
            ));
        }
        if self
            .store
            .set_account_disabled(account_id, disabled)
            .await?
        {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}
