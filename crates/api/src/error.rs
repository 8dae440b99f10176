//! Errors of the application layer: a stable `code` for the UI to translate and a Spanish
//! message a person can act on.

use reintegra_core::referral::TransitionError;
use reintegra_core::validation::ValidationErrors;
use reintegra_store::error::UndoRefused;
use reintegra_store::Error as StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Este equipo ya tiene un almacén de datos; inicie sesión.")]
    AlreadySetUp,
    #[error("Este equipo todavía no tiene usuarios; cree el primero.")]
    NotSetUp,
    #[error("La sesión está bloqueada; ingrese su contraseña.")]
    Locked,
    #[error("Usuario o contraseña incorrectos.")]
    WrongCredentials,
    #[error("La contraseña debe tener al menos {min} caracteres.")]
    WeakPassphrase { min: usize },
    #[error("No se encontró a esa persona; puede que otro equipo la haya borrado.")]
    NotFound,
    #[error("Su rol no permite hacer esto.")]
    Forbidden,
    #[error("Cambie la frase de acceso que le dieron antes de continuar.")]
    PassphraseChangeRequired,
    #[error("La frase nueva debe ser distinta de la anterior.")]
    SamePassphrase,
    #[error("Demasiados intentos fallidos: espere {wait_secs} s antes de intentar de nuevo.")]
    TooManyAttempts { wait_secs: u64 },
    #[error("Ya existe un usuario con ese nombre de acceso en este equipo.")]
    LoginTaken,
    #[error("No puede desactivarse a sí mismo.")]
    OwnAccount,
    #[error("Una de las dos fichas ya fue fusionada con otra; actualice la lista.")]
    AlreadyMerged,
    #[error("Revise los campos marcados.")]
    Invalid(ValidationErrors),
    #[error("La persona no ha dado su consentimiento para compartir sus datos con este proveedor o servicio; registre el consentimiento antes de enviar.")]
    NoConsent,
    #[error("Elija un proveedor antes de enviar la referencia.")]
    NoProvider,
    #[error("La persona no tiene consentimiento de registro vigente: su ficha está restringida (sin referencias nuevas ni exportaciones con su nombre) hasta que lo dé de nuevo o se decida borrarla.")]
    Restricted,
    #[error("La persona retiró su consentimiento para ser contactada: no se programan visitas ni llamadas (sí una cita en la oficina).")]
    ContactWithdrawn,
    #[error("La boleta se hace solo para una referencia que está con su proveedor (enviada, aceptada o en curso).")]
    SlipNotWithProvider,
    #[error("La referencia no puede pasar de «{from}» a «{to}».")]
    IllegalTransition { from: String, to: String },
    #[error("Los datos de este equipo fueron escritos por una versión más nueva de Reintegra; actualice la aplicación.")]
    NewerVersion,
    #[error("Otra ventana de Reintegra está usando los datos; ciérrela e intente de nuevo.")]
    InUse,
    #[error(
        "Los datos de este equipo están dañados; restáurelos desde una copia de seguridad. ({0})"
    )]
    Damaged(String),
    #[error("No se pudo leer o escribir en el disco: {0}")]
    Storage(String),
    #[error("{message}")]
    Sync { code: &'static str, message: String },
    #[error("Ya hay una sincronización en curso; espere a que termine.")]
    SyncRunning,
    #[error("El período no es válido: use un año (2026), un trimestre (2026-Q3), un mes (2026-07) o dos fechas (2026-07-01..2026-07-15).")]
    InvalidPeriod,
    #[error("No se pudo escribir el archivo de exportación: {0}")]
    Export(String),
    #[error("No se puede deshacer la importación: {0}")]
    CannotUndo(&'static str),
    #[error("No se puede importar el archivo: {0}")]
    ImportUnreadable(String),
}

impl ApiError {
    /// Stable code sent to the UI.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::AlreadySetUp => "already_set_up",
            ApiError::NotSetUp => "not_set_up",
            ApiError::Locked => "locked",
            ApiError::WrongCredentials => "wrong_credentials",
            ApiError::WeakPassphrase { .. } => "weak_passphrase",
            ApiError::NotFound => "not_found",
            ApiError::Forbidden => "forbidden",
            ApiError::PassphraseChangeRequired => "passphrase_change_required",
            ApiError::SamePassphrase => "same_passphrase",
            ApiError::TooManyAttempts { .. } => "too_many_attempts",
            ApiError::LoginTaken => "login_taken",
            ApiError::OwnAccount => "own_account",
            ApiError::AlreadyMerged => "already_merged",
            ApiError::Invalid(_) => "invalid",
            ApiError::NoConsent => "no_consent",
            ApiError::NoProvider => "no_provider",
            ApiError::SlipNotWithProvider => "slip_not_with_provider",
            ApiError::Restricted => "restricted",
            ApiError::ContactWithdrawn => "contact_withdrawn",
            ApiError::IllegalTransition { .. } => "illegal_transition",
            ApiError::NewerVersion => "newer_version",
            ApiError::InUse => "in_use",
            ApiError::Damaged(_) => "damaged",
            ApiError::Storage(_) => "storage",
            ApiError::Sync { code, .. } => code,
            ApiError::SyncRunning => "sync_running",
            ApiError::InvalidPeriod => "invalid_period",
            ApiError::Export(_) => "export_failed",
            ApiError::CannotUndo(_) => "cannot_undo",
            ApiError::ImportUnreadable(_) => "import_unreadable",
        }
    }
}

impl From<TransitionError> for ApiError {
    fn from(e: TransitionError) -> Self {
        match e {
            TransitionError::NoConsent | TransitionError::SendNeedsConsent => ApiError::NoConsent,
            TransitionError::NoProvider => ApiError::NoProvider,
            TransitionError::SlipNotWithProvider(_) => ApiError::SlipNotWithProvider,
            TransitionError::Illegal { from, to } => ApiError::IllegalTransition {
                from: from.to_string(),
                to: to.to_string(),
            },
            // Steps are dated by this device's clock: a step "before" the last one means the
            // clock went back; say it as an illegal move rather than invent a date.
            TransitionError::BeforePreviousStep { .. } => ApiError::IllegalTransition {
                from: "(fecha posterior)".into(),
                to: "(fecha anterior)".into(),
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            // Never say which of the two was wrong.
            StoreError::WrongPassphrase | StoreError::UnknownUser(_) => ApiError::WrongCredentials,
            StoreError::WeakPassphrase { min } => ApiError::WeakPassphrase { min },
            StoreError::TooManyAttempts { wait_secs } => ApiError::TooManyAttempts { wait_secs },
            StoreError::NewerSchema { .. } | StoreError::NewerBackup { .. } => {
                ApiError::NewerVersion
            }
            StoreError::InUse(_) => ApiError::InUse,
            StoreError::Corrupt(m) | StoreError::CorruptBackup(m) => ApiError::Damaged(m),
            StoreError::AlreadyExists(_) => ApiError::AlreadySetUp,
            StoreError::UserExists(_) => ApiError::LoginTaken,
            StoreError::NotFound(_) => ApiError::NotSetUp,
            StoreError::CannotUndo(why) => ApiError::CannotUndo(match why {
                UndoRefused::NothingToUndo => "ya se deshizo o no hay nada que deshacer.",
                UndoRefused::AlreadySent => {
                    "una parte ya se envió al servidor; corrija las fichas una por una."
                }
                UndoRefused::ChangedSince => {
                    "alguien cambió una de sus fichas después de importarla; corrija las fichas una por una."
                }
            }),
            other => ApiError::Storage(other.to_string()),
        }
    }
}
