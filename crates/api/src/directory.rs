//! The service directory ("Directorio de servicios"): who offers which service where, and what
//! they need to receive a referral. Everyone reads it; admins and supervisors edit it. A new
//! device starts with a few sample providers, clearly marked as examples, that can be deleted.

use chrono::{DateTime, Utc};
use reintegra_core::audit::AuditAction;
use reintegra_core::ids::ProviderId;
use reintegra_core::provider::{PersonField, ProviderContact, ServiceProvider};
use reintegra_core::referral::ServiceType;
use reintegra_store::Store;
use uuid::Uuid;

use crate::unit_of_work::{save_one, Audit};
use crate::{ApiError, Result, Session};
use reintegra_core::permission::Permission;

/// The ids of the sample providers: a UUIDv7-shaped constant (2024-01-01) plus 1, 2, 3.
const EXAMPLE_IDS: u128 = 0x018c_c251_f400_7000_8000_0000_0000_0000;

/// Sample providers for training; each says it is an example in its name too. Their ids are
/// fixed, so every device seeds the same three records and sync does not multiply them.
fn examples() -> Vec<ServiceProvider> {
    let sample = |n: u128,
                  name: &str,
                  institution: &str,
                  services: Vec<ServiceType>,
                  fields: Vec<PersonField>| {
        ServiceProvider {
            id: ProviderId::new(Uuid::from_u128(EXAMPLE_IDS + n)),
            name: format!("{name} (ejemplo)"),
            institution: institution.into(),
            service_types: services,
            municipalities_served: Vec::new(),
            contact: ProviderContact::default(),
            required_fields: fields,
            example: true,
            retired: false,
        }
    };
    use PersonField::*;
    vec![
        sample(
            1,
            "Atención psicosocial",
            "Unidad de salud mental",
            vec![ServiceType::Psychosocial],
            vec![GivenNames, Surnames, Phone, Sex, BirthDate],
        ),
        sample(
            2,
            "Formación vocacional",
            "Centro de formación técnica",
            vec![ServiceType::Vocational, ServiceType::Employment],
            vec![
                GivenNames,
                Surnames,
                Phone,
                IdentityDocument,
                Education,
                Occupation,
            ],
        ),
        sample(
            3,
            "Emprendimiento y capital semilla",
            "Programa de emprendimiento",
            vec![ServiceType::Entrepreneurship],
            vec![
                GivenNames,
                Surnames,
                Phone,
                IdentityDocument,
                DestinationDistrict,
                Occupation,
            ],
        ),
    ]
}

/// Seeds the sample providers into a store that has none (first run).
pub(crate) fn seed_examples(store: &Store) -> Result<()> {
    if store.providers()?.is_empty() {
        for provider in examples() {
            store.save_provider(&provider)?;
        }
    }
    Ok(())
}

impl Session {
    /// The whole directory, real providers first, then by name.
    pub fn providers(&self) -> Result<Vec<ServiceProvider>> {
        self.with_unlocked(|store, _, _| {
            let mut all = store.providers()?;
            all.retain(|p| !p.retired);
            all.sort_by(|a, b| a.example.cmp(&b.example).then_with(|| a.name.cmp(&b.name)));
            Ok(all)
        })
    }

    /// Adds or changes a provider (admins and supervisors).
    pub fn save_provider(
        &self,
        provider: &ServiceProvider,
        now: DateTime<Utc>,
    ) -> Result<ServiceProvider> {
        self.with_permission(Permission::EditDirectory, |store, user, cases| {
            let mut provider = provider.clone();
            provider.name = provider.name.trim().to_string();
            provider.institution = provider.institution.trim().to_string();
            provider.validate().map_err(ApiError::Invalid)?;
            let existed = store.provider(provider.id)?.is_some();
            save_one(
                (store, user, cases),
                now,
                &provider,
                Audit::new(
                    if existed {
                        AuditAction::Update
                    } else {
                        AuditAction::Create
                    },
                    "Directorio de servicios",
                ),
            )?;
            Ok(provider)
        })
    }

    /// Takes a provider out of the directory (admins and supervisors): it is retired, not
    /// deleted, so the change syncs (the server refuses deletes) and referrals keep its name.
    pub fn delete_provider(&self, id: ProviderId, now: DateTime<Utc>) -> Result<()> {
        self.with_permission(Permission::EditDirectory, |store, user, cases| {
            let mut provider = store.provider(id)?.ok_or(ApiError::NotFound)?;
            provider.retired = true;
            save_one(
                (store, user, cases),
                now,
                &provider,
                Audit::new(AuditAction::Update, "Proveedor retirado del directorio")
                    .fields(["retired"]),
            )
        })
    }
}
