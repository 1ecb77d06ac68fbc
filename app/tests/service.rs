//! Service-layer tests: every use case's success and its errors (unknown id, bad value, wrong
//! level, read-only writing), on SQLite and PostgreSQL.

mod support;

use app::service::{
    Actor, AuthError, ClientError, ItemError, ModuleChange, ModuleError, ModuleInput,
    OperationError, Services, UserError,
};
use app::types::OperationState;
use app::types::{
    AppError, Conflict, FieldError, FieldReason, ItemChange, ItemStatus, Lang, Level, ListQuery,
    ModuleKind, OperationFilter, OperationInput, Status,
};
use support::{actor_with, admin, TestDb, T0};

/// A client, a module with a panel URL and three services of the client.
async fn world(svc: &Services) -> (i64, i64, Vec<i64>) {
    let a = admin();
    let client = svc
        .add_client(&a, "Northwind", Some("ops@northwind.example"))
        .await
        .expect("client");
    let mut input = ModuleInput::new("VMmanager", ModuleKind::Exec, "/bin/true");
    input.panel_url = Some("https://vm.example:1500/vmmgr".into());
    let module = svc.add_module(&a, &input).await.expect("module");
    let mut items = Vec::new();
    for n in 0..3 {
        items.push(
            svc.add_item(
                &a,
                client,
                module,
                "vds",
                &format!("vm{n}.example"),
                ItemStatus::Ordered,
            )
            .await
            .expect("item"),
        );
    }
    (client, module, items)
}

fn open(item: i64) -> OperationInput {
    OperationInput {
        intname: Some("open".into()),
        item: Some(item.to_string()),
        ..OperationInput::default()
    }
}

fn fields_of(err: OperationError) -> Vec<(String, FieldReason)> {
    match err {
        OperationError::Invalid(fields) => {
            fields.into_iter().map(|f| (f.field, f.reason)).collect()
        }
        other => panic!("expected invalid fields, got {other:?}"),
    }
}

async fn creating_an_operation_fills_defaults_and_journals(db: &TestDb) {
    let svc = db.services();
    let (client, module, items) = world(&svc).await;
    let id = svc
        .create_operation(&admin(), &open(items[0]))
        .await
        .expect("create");
    let form = svc.get_operation_form(&admin(), id).await.expect("form");
    assert_eq!(
        (
            form.item_id,
            form.trycount,
            form.cdate,
            form.manual,
            form.status
        ),
        (items[0], 0, T0, false, Status::Waiting)
    );
    let page = svc
        .list_operations(&admin(), ListQuery::default())
        .await
        .expect("list");
    assert_eq!(page.total, 1);
    assert!(page.total_exact);
    assert_eq!(
        (page.rows[0].client_id, page.rows[0].module_id),
        (client, module)
    );
    assert_eq!(
        page.rows[0].desc(Lang::En),
        format!("Open service #{} vm0.example", items[0])
    );
    let journal = svc
        .store()
        .list_journal("runningoperation", id)
        .await
        .expect("journal");
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].action, "runningoperation.edit");
}

async fn every_bad_field_is_named(db: &TestDb) {
    let svc = db.services();
    let bad = OperationInput {
        intname: Some("explode".into()),
        item: Some("99999".into()),
        trycount: Some("-1".into()),
        cdate: Some("2025-13-01".into()),
        manual: Some("maybe".into()),
        comment: Some("x".repeat(1001)),
    };
    let got = fields_of(
        svc.create_operation(&admin(), &bad)
            .await
            .expect_err("invalid"),
    );
    assert_eq!(
        got,
        vec![
            ("intname".into(), FieldReason::Unknown),
            ("item".into(), FieldReason::NotFound),
            ("trycount".into(), FieldReason::Negative),
            ("cdate".into(), FieldReason::BadDate),
            ("manual".into(), FieldReason::BadSwitch),
            ("comment".into(), FieldReason::TooLong(1000)),
        ]
    );
    let missing = fields_of(
        svc.create_operation(&admin(), &OperationInput::default())
            .await
            .expect_err("missing"),
    );
    assert_eq!(
        missing,
        vec![
            ("intname".into(), FieldReason::Required),
            ("item".into(), FieldReason::Required)
        ]
    );
    let not_number = OperationInput {
        item: Some("abc".into()),
        trycount: Some("1.5".into()),
        ..open(1)
    };
    let got = fields_of(
        svc.create_operation(&admin(), &not_number)
            .await
            .expect_err("nan"),
    );
    assert_eq!(
        got,
        vec![
            ("item".into(), FieldReason::NotANumber),
            ("trycount".into(), FieldReason::NotANumber)
        ]
    );
    let app: AppError = OperationError::Invalid(vec![app::types::FieldError::new(
        "trycount",
        "-1",
        FieldReason::Negative,
    )])
    .into();
    assert_eq!(app.kind(), "value");
    assert!(app.message(Lang::Ru).contains("trycount"));
}

async fn a_second_active_operation_on_a_service_conflicts(db: &TestDb) {
    let svc = db.services();
    let (_, _, items) = world(&svc).await;
    svc.create_operation(&admin(), &open(items[0]))
        .await
        .expect("first");
    let err = svc
        .create_operation(&admin(), &open(items[0]))
        .await
        .expect_err("second");
    assert!(
        matches!(
            err,
            OperationError::Conflict {
                reason: Conflict::ActiveOperation,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(AppError::from(err).kind(), "exists");
}

async fn changing_an_operation_keeps_what_was_not_sent(db: &TestDb) {
    let svc = db.services();
    let (_, _, items) = world(&svc).await;
    let id = svc
        .create_operation(
            &admin(),
            &OperationInput {
                comment: Some("first".into()),
                ..open(items[0])
            },
        )
        .await
        .expect("create");
    let change = OperationInput {
        trycount: Some("3".into()),
        manual: Some("on".into()),
        cdate: Some("2025-01-09 08:30:00".into()),
        ..OperationInput::default()
    };
    svc.change_operation(&admin(), id, &change)
        .await
        .expect("change");
    let form = svc.get_operation_form(&admin(), id).await.expect("form");
    assert_eq!(
        (
            form.trycount,
            form.manual,
            form.comment.as_str(),
            form.cdate.format()
        ),
        (3, true, "first", "2025-01-09 08:30:00".into())
    );
    assert_eq!(form.status, Status::Manual);
    assert!(matches!(
        svc.change_operation(&admin(), 424242, &change).await,
        Err(OperationError::NotFound(424242))
    ));
    let journal = svc
        .store()
        .list_journal("runningoperation", id)
        .await
        .expect("journal");
    assert!(
        journal[1].detail.contains("trycount 0 -> 3"),
        "{:?}",
        journal[1]
    );
}

async fn a_running_operation_keeps_its_type_and_service(db: &TestDb) {
    let svc = db.services();
    let (_, _, items) = world(&svc).await;
    let id = svc
        .create_operation(&admin(), &open(items[0]))
        .await
        .expect("create");
    svc.store()
        .force_state(id, OperationState::Running, None, T0)
        .await
        .expect("run");
    let err = svc
        .change_operation(
            &admin(),
            id,
            &OperationInput {
                intname: Some("close".into()),
                ..OperationInput::default()
            },
        )
        .await
        .expect_err("conflict");
    assert!(matches!(
        err,
        OperationError::Conflict {
            reason: Conflict::Running,
            ..
        }
    ));
    svc.change_operation(
        &admin(),
        id,
        &OperationInput {
            comment: Some("looking".into()),
            ..OperationInput::default()
        },
    )
    .await
    .expect("comment ok");
}

async fn group_actions_report_each_id(db: &TestDb) {
    let svc = db.services();
    let (_, _, items) = world(&svc).await;
    let a = svc
        .create_operation(&admin(), &open(items[0]))
        .await
        .expect("a");
    let b = svc
        .create_operation(&admin(), &open(items[1]))
        .await
        .expect("b");
    svc.store()
        .force_state(b, OperationState::Running, None, T0)
        .await
        .expect("run b");

    let started = svc
        .start_operations(&admin(), &[a, b, 777])
        .await
        .expect("start");
    assert!(!started.all_ok());
    assert!(started.results[0].1.is_ok());
    assert!(matches!(
        started.results[1].1,
        Err(OperationError::Conflict {
            reason: Conflict::Running,
            ..
        })
    ));
    assert!(matches!(
        started.results[2].1,
        Err(OperationError::NotFound(777))
    ));
    assert!(
        svc.store()
            .get_operation(a)
            .await
            .expect("get")
            .expect("a")
            .run_requested
    );

    let deleted = svc.delete_operations(&admin(), &[b]).await.expect("delete");
    assert!(matches!(
        deleted.into_first_error(),
        Err(OperationError::Conflict {
            reason: Conflict::Running,
            ..
        })
    ));

    let stopped = svc.stop_operations(&admin(), &[a, b]).await.expect("stop");
    assert!(stopped.all_ok());
    let b_op = svc.store().get_operation(b).await.expect("get").expect("b");
    assert!(b_op.fields.manual && b_op.stop_requested);

    let tasks = svc.create_tasks(&admin(), &[a, a]).await.expect("tasks");
    assert!(tasks.results[0].1.is_ok());
    assert!(matches!(
        tasks.results[1].1,
        Err(OperationError::Conflict {
            reason: Conflict::HasTask,
            ..
        })
    ));

    assert!(svc
        .delete_operations(&admin(), &[a])
        .await
        .expect("delete a")
        .all_ok());
    assert_eq!(
        svc.list_operations(&admin(), ListQuery::default())
            .await
            .expect("list")
            .total,
        1
    );
    let err = svc
        .start_operations(&admin(), &[a])
        .await
        .expect("start deleted")
        .into_first_error();
    assert!(matches!(err, Err(OperationError::NotFound(id)) if id == a));
}

async fn starting_on_a_switched_off_module_is_refused(db: &TestDb) {
    let svc = db.services();
    let (_, module, items) = world(&svc).await;
    let id = svc
        .create_operation(&admin(), &open(items[0]))
        .await
        .expect("create");
    svc.set_module_enabled(&admin(), module, false)
        .await
        .expect("off");
    let result = svc
        .start_operations(&admin(), &[id])
        .await
        .expect("start")
        .into_first_error();
    assert!(matches!(
        result,
        Err(OperationError::Conflict {
            reason: Conflict::ModuleOff,
            ..
        })
    ));
}

async fn error_history_and_logs_are_readable(db: &TestDb) {
    let svc = db.services();
    let (_, _, items) = world(&svc).await;
    let id = svc
        .create_operation(&admin(), &open(items[0]))
        .await
        .expect("create");
    let attempt = svc
        .store()
        .insert_attempt(&app::store::NewAttempt {
            operation_id: id,
            item_id: items[0],
            token: "t".into(),
            started: T0,
            finished: None,
            outcome: app::types::AttemptOutcome::Error,
            error_type: Some("client".into()),
            error_message: Some("refused".into()),
            log: "line 1\nERROR refused".into(),
            task_id: None,
        })
        .await
        .expect("attempt");
    let rows = svc.list_attempts(&admin(), id).await.expect("history");
    assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), vec![attempt]);
    let (_, log) = svc.get_attempt_log(&admin(), attempt).await.expect("log");
    assert!(log.contains("ERROR refused"));
    assert!(matches!(
        svc.list_attempts(&admin(), 5555).await,
        Err(OperationError::NotFound(5555))
    ));
    assert!(matches!(
        svc.get_attempt_log(&admin(), 5555).await,
        Err(OperationError::AttemptNotFound(5555))
    ));
}

async fn setfilter_saves_the_rows_client_for_the_caller(db: &TestDb) {
    let svc = db.services();
    let (client, _, items) = world(&svc).await;
    let id = svc
        .create_operation(&admin(), &open(items[0]))
        .await
        .expect("create");
    let uid = svc
        .add_user(&admin(), "boss", "long-password", Level::Admin, None)
        .await
        .expect("user");
    let boss = Actor {
        user_id: Some(uid),
        user_name: "boss".into(),
        ..admin()
    };
    assert!(svc
        .load_operation_filter(&boss)
        .await
        .expect("empty")
        .is_empty());
    let filter = svc
        .filter_by_operation_client(&boss, id)
        .await
        .expect("setfilter");
    assert_eq!(filter.client, Some(client));
    assert_eq!(
        svc.load_operation_filter(&boss).await.expect("saved"),
        filter
    );
    svc.save_operation_filter(&boss, &OperationFilter::default())
        .await
        .expect("clear");
    assert!(svc
        .load_operation_filter(&boss)
        .await
        .expect("cleared")
        .is_empty());
    assert!(matches!(
        svc.filter_by_operation_client(&boss, 999).await,
        Err(OperationError::NotFound(999))
    ));
}

async fn gotoserver_gives_the_panel_or_says_there_is_none(db: &TestDb) {
    let svc = db.services();
    let (client, _, items) = world(&svc).await;
    let id = svc
        .create_operation(&admin(), &open(items[0]))
        .await
        .expect("create");
    assert_eq!(
        svc.module_panel_url(&admin(), id).await.expect("url"),
        "https://vm.example:1500/vmmgr"
    );
    let bare = svc
        .add_module(
            &admin(),
            &ModuleInput::new("Bare", ModuleKind::Exec, "/bin/true"),
        )
        .await
        .expect("module");
    let item = svc
        .add_item(
            &admin(),
            client,
            bare,
            "vds",
            "bare.example",
            ItemStatus::Ordered,
        )
        .await
        .expect("item");
    let op = svc
        .create_operation(&admin(), &open(item))
        .await
        .expect("create");
    assert!(matches!(
        svc.module_panel_url(&admin(), op).await,
        Err(OperationError::Conflict {
            reason: Conflict::NoPanel,
            ..
        })
    ));
}

async fn logins_sessions_and_expiry(db: &TestDb) {
    let svc = db.services();
    svc.add_user(&admin(), "boss", "long-password", Level::Admin, None)
        .await
        .expect("user");
    assert!(matches!(
        svc.login("boss", "wrong-password", Lang::En, None).await,
        Err(app::service::AuthError::BadCredentials)
    ));
    assert!(matches!(
        svc.login("nobody", "long-password", Lang::En, None).await,
        Err(app::service::AuthError::BadCredentials)
    ));
    let (token, info) = svc
        .login("boss", "long-password", Lang::Ru, None)
        .await
        .expect("login");
    assert_eq!((info.level, info.lang), (Level::Admin, Lang::Ru));
    let actor = svc.authenticate(&token).await.expect("session");
    assert_eq!(actor.user_name, "boss");
    db.clock.advance(59 * 60 * 1000);
    svc.authenticate(&token)
        .await
        .expect("used within the hour");
    db.clock.advance(59 * 60 * 1000);
    svc.authenticate(&token)
        .await
        .expect("idle time counts from the last request");
    db.clock.advance(61 * 60 * 1000);
    assert!(matches!(
        svc.authenticate(&token).await,
        Err(app::service::AuthError::NoSession)
    ));
    let (token, _) = svc
        .login("boss", "long-password", Lang::En, None)
        .await
        .expect("login again");
    svc.logout(&token).await.expect("logout");
    assert!(matches!(
        svc.authenticate(&token).await,
        Err(AuthError::NoSession)
    ));
    assert!(matches!(
        svc.authenticate(&app::service::SessionToken::from_client(""))
            .await,
        Err(AuthError::NoSession)
    ));
}

async fn su_opens_a_client_session_linked_to_the_admin(db: &TestDb) {
    let svc = db.services();
    let (client, _, items) = world(&svc).await;
    let id = svc
        .create_operation(&admin(), &open(items[0]))
        .await
        .expect("create");
    svc.add_user(&admin(), "boss", "long-password", Level::Admin, None)
        .await
        .expect("user");
    let (admin_token, _) = svc
        .login("boss", "long-password", Lang::En, None)
        .await
        .expect("login");
    let boss = svc.authenticate(&admin_token).await.expect("admin");
    let client_token = svc.su_to_operation_client(&boss, id).await.expect("su");
    let as_client = svc
        .authenticate(&client_token)
        .await
        .expect("client session");
    assert_eq!(
        (as_client.level, as_client.client_id),
        (Level::User, Some(client))
    );
    assert!(svc.describe_session(&as_client).has_parent);
    assert_eq!(
        svc.list_client_operations(&as_client)
            .await
            .expect("own")
            .len(),
        1
    );
    assert!(matches!(
        svc.list_operations(&as_client, ListQuery::default()).await,
        Err(OperationError::Denied(_))
    ));
    assert!(svc
        .store()
        .list_journal("runningoperation", id)
        .await
        .expect("journal")
        .iter()
        .any(|j| j.action == "runningoperation.su"));
    svc.leave_client_session(&as_client).await.expect("back");
    assert!(matches!(
        svc.authenticate(&client_token).await,
        Err(AuthError::NoSession)
    ));
    svc.authenticate(&admin_token)
        .await
        .expect("admin session goes on");
    assert!(
        matches!(svc.leave_client_session(&boss).await, Err(AuthError::NotSu)),
        "an admin session has nothing to return to"
    );
    assert!(
        matches!(
            svc.su_to_operation_client(&admin(), id).await,
            Err(OperationError::Auth(_))
        ),
        "the command line has no session to link"
    );
}

async fn levels_limit_what_a_caller_may_do(db: &TestDb) {
    let svc = db.services();
    let (client, module, items) = world(&svc).await;
    let id = svc
        .create_operation(&admin(), &open(items[0]))
        .await
        .expect("create");
    let readonly = actor_with(Level::Readonly, None);
    let user = actor_with(Level::User, Some(client));
    svc.list_operations(&readonly, ListQuery::default())
        .await
        .expect("readonly lists");
    svc.get_operation_form(&readonly, id)
        .await
        .expect("readonly views");
    svc.list_attempts(&readonly, id)
        .await
        .expect("readonly reads history");
    svc.list_modules(&readonly)
        .await
        .expect("readonly lists modules");
    for caller in [&readonly, &user] {
        assert!(matches!(
            svc.create_operation(caller, &open(items[1])).await,
            Err(OperationError::Denied(_))
        ));
        assert!(matches!(
            svc.change_operation(caller, id, &OperationInput::default())
                .await,
            Err(OperationError::Denied(_))
        ));
        assert!(matches!(
            svc.start_operations(caller, &[id]).await,
            Err(OperationError::Denied(_))
        ));
        assert!(matches!(
            svc.stop_operations(caller, &[id]).await,
            Err(OperationError::Denied(_))
        ));
        assert!(matches!(
            svc.delete_operations(caller, &[id]).await,
            Err(OperationError::Denied(_))
        ));
        assert!(matches!(
            svc.create_tasks(caller, &[id]).await,
            Err(OperationError::Denied(_))
        ));
        assert!(matches!(
            svc.su_to_operation_client(caller, id).await,
            Err(OperationError::Denied(_))
        ));
        assert!(matches!(
            svc.add_client(caller, "x", None).await,
            Err(ClientError::Denied(_))
        ));
        assert!(matches!(
            svc.set_module_enabled(caller, module, false).await,
            Err(ModuleError::Denied(_))
        ));
        assert!(matches!(
            svc.add_item(caller, client, module, "vds", "x", ItemStatus::Ordered)
                .await,
            Err(ItemError::Denied(_))
        ));
        assert!(matches!(
            svc.add_user(caller, "x", "long-password", Level::Admin, None)
                .await,
            Err(UserError::Denied(_))
        ));
    }
    for result in [
        svc.list_operations(&user, ListQuery::default())
            .await
            .map(|_| ()),
        svc.get_operation_form(&user, id).await.map(|_| ()),
        svc.list_attempts(&user, id).await.map(|_| ()),
        svc.get_attempt_log(&user, 1).await.map(|_| ()),
        svc.load_operation_filter(&user).await.map(|_| ()),
        svc.filter_by_operation_client(&user, id).await.map(|_| ()),
        svc.module_panel_url(&user, id).await.map(|_| ()),
    ] {
        let err = result.expect_err("a client user may not read runningoperation");
        assert_eq!(AppError::from(err), AppError::Access);
    }
    assert_eq!(
        svc.list_items(&user, None).await.expect("own items").len(),
        3
    );
    assert!(
        matches!(
            svc.get_item(&actor_with(Level::User, Some(client + 1)), items[0])
                .await,
            Err(ItemError::NotFound(id)) if id == items[0]
        ),
        "another client's service is invisible"
    );
}

async fn reference_data_is_validated(db: &TestDb) {
    let svc = db.services();
    let a = admin();
    assert!(matches!(
        svc.add_client(&a, "  ", None).await,
        Err(ClientError::Invalid(fields))
            if fields == [FieldError::new("name", "", FieldReason::Required)]
    ));
    assert!(matches!(
        svc.add_client(&a, "Ok", Some("not-an-email")).await,
        Err(ClientError::Invalid(fields))
            if fields == [FieldError::new("email", "not-an-email", FieldReason::Unknown)]
    ));
    let mut input = ModuleInput::new("", ModuleKind::Http, "ftp://x");
    input.max_running = 0;
    input.panel_url = Some("javascript:alert(1)".into());
    match svc.add_module(&a, &input).await.expect_err("invalid") {
        app::service::ModuleError::Invalid(fields) => {
            let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(names, vec!["name", "url", "panel_url", "max_running"]);
        }
        other => panic!("{other:?}"),
    }
    let (client, module, items) = world(&svc).await;
    match svc
        .add_module(
            &a,
            &ModuleInput::new("VMmanager", ModuleKind::Exec, "/bin/true"),
        )
        .await
        .expect_err("taken")
    {
        app::service::ModuleError::Invalid(fields) => {
            assert_eq!(fields[0].reason, FieldReason::Taken)
        }
        other => panic!("{other:?}"),
    }
    svc.change_module(
        &a,
        module,
        &ModuleChange {
            secret: Some("new".into()),
            max_tries: Some(3),
            ..ModuleChange::default()
        },
    )
    .await
    .expect("change");
    let view = svc.get_module(&a, module).await.expect("view");
    assert!(view.has_secret && view.max_tries == 3);
    assert!(matches!(
        svc.change_module(&a, 9999, &ModuleChange::default()).await,
        Err(ModuleError::NotFound(9999))
    ));
    assert!(matches!(
        svc.add_item(&a, 9999, module, "vds", "x", ItemStatus::Ordered)
            .await,
        Err(ItemError::Invalid(fields))
            if fields == [FieldError::new("client", "9999", FieldReason::NotFound)]
    ));
    assert!(matches!(
        svc.add_item(&a, client, 9999, "vds", "x", ItemStatus::Ordered)
            .await,
        Err(ItemError::Invalid(fields))
            if fields == [FieldError::new("processingmodule", "9999", FieldReason::NotFound)]
    ));
    // A service with a pending operation keeps its client and module.
    svc.create_operation(&a, &open(items[0])).await.expect("op");
    let other = svc.add_client(&a, "Other", None).await.expect("client");
    let moved = ItemChange {
        client_id: Some(other),
        ..ItemChange::default()
    };
    assert!(matches!(
        svc.change_item(&a, items[0], &moved).await,
        Err(app::service::ItemError::Busy(_))
    ));
    let renamed = ItemChange {
        name: Some("renamed.example".into()),
        ..ItemChange::default()
    };
    svc.change_item(&a, items[0], &renamed)
        .await
        .expect("rename is fine");
    assert_eq!(
        svc.get_item(&a, items[0]).await.expect("item").name,
        "renamed.example"
    );
    svc.change_client(&a, client, "Northwind Ltd", None)
        .await
        .expect("client change");
    assert_eq!(
        svc.get_client(&a, client).await.expect("client").name,
        "Northwind Ltd"
    );
    assert!(matches!(
        svc.get_client(&a, 9999).await,
        Err(ClientError::NotFound(9999))
    ));
    assert_eq!(svc.list_clients(&a).await.expect("clients").len(), 2);
    assert!(
        matches!(
            svc.add_user(&a, "c", "long-password", Level::User, None)
                .await,
            Err(UserError::Invalid(fields))
                if fields == [FieldError::new("client", "", FieldReason::Required)]
        ),
        "a client user needs its client"
    );
    assert!(matches!(
        svc.add_user(&a, "d", "short", Level::Admin, None).await,
        Err(UserError::Invalid(fields))
            if fields == [FieldError::new("password", "", FieldReason::TooShort(8))]
    ));
    assert!(matches!(
        svc.set_password(&a, "nobody", "long-password").await,
        Err(UserError::NotFound(name)) if name == "nobody"
    ));
}

async fn demo_data_covers_every_status_once(db: &TestDb) {
    let svc = db.services();
    let summary = svc
        .load_demo(&admin(), "/bin/true")
        .await
        .expect("demo")
        .expect("loaded");
    assert_eq!(
        (summary.clients, summary.items, summary.operations),
        (20, 100, 200)
    );
    assert!(summary.attempts > 200);
    for status in Status::ALL {
        let filter = OperationFilter {
            status: Some(status),
            ..OperationFilter::default()
        };
        let page = svc
            .list_operations(
                &admin(),
                ListQuery {
                    filter,
                    ..ListQuery::default()
                },
            )
            .await
            .expect("list");
        assert!(page.total >= 20, "{status:?}: {}", page.total);
    }
    assert!(
        svc.load_demo(&admin(), "/bin/true")
            .await
            .expect("again")
            .is_none(),
        "demo data loads once"
    );
}

async fn failed_logins_are_throttled_per_user_and_per_address(db: &TestDb) {
    let svc = db.services();
    svc.add_user(&admin(), "boss", "long-password", Level::Admin, None)
        .await
        .expect("user");
    svc.add_user(&admin(), "other", "long-password", Level::Admin, None)
        .await
        .expect("user");
    for _ in 0..5 {
        let r = svc.login("boss", "guess", Lang::En, Some("10.1.1.1")).await;
        assert!(matches!(r, Err(app::service::AuthError::BadCredentials)));
    }
    let blocked = svc
        .login("boss", "long-password", Lang::En, Some("10.2.2.2"))
        .await;
    assert!(
        matches!(blocked, Err(app::service::AuthError::Throttled)),
        "the right password is refused while throttled"
    );
    assert_eq!(
        AppError::from(blocked.expect_err("throttled")),
        AppError::Throttled
    );
    let same_addr = svc
        .login("other", "long-password", Lang::En, Some("10.1.1.1"))
        .await;
    assert!(
        matches!(same_addr, Err(app::service::AuthError::Throttled)),
        "the address is throttled too"
    );
    svc.login("other", "long-password", Lang::En, Some("10.3.3.3"))
        .await
        .expect("another user elsewhere");
    assert!(matches!(
        svc.authenticate_password("boss", "long-password", Lang::En, None)
            .await,
        Err(AuthError::Throttled)
    ));
    db.clock
        .advance(app::service::session::THROTTLE_WINDOW_MILLIS + 1);
    svc.login("boss", "long-password", Lang::En, Some("10.1.1.1"))
        .await
        .expect("after the window");
}

async fn a_login_key_works_once_and_expires(db: &TestDb) {
    let svc = db.services();
    let client = svc.add_client(&admin(), "C", None).await.expect("client");
    svc.add_user(&admin(), "cl", "long-password", Level::User, Some(client))
        .await
        .expect("user");
    let key = "0123456789abcdef-key";
    assert!(matches!(
        svc.new_login_key(&admin(), "cl", "short").await,
        Err(AuthError::Invalid(fields))
            if fields == [FieldError::new("key", "", FieldReason::TooShort(16))]
    ));
    assert!(matches!(
        svc.new_login_key(&admin(), "ghost", key).await,
        Err(app::service::AuthError::NoUser(_))
    ));
    assert!(matches!(
        svc.new_login_key(&actor_with(Level::Readonly, None), "cl", key)
            .await,
        Err(AuthError::Denied(_))
    ));
    svc.new_login_key(&admin(), "cl", key)
        .await
        .expect("newkey");
    assert!(
        matches!(
            svc.login_with_key("other", key, Lang::En, None).await,
            Err(AuthError::BadCredentials)
        ),
        "the key is bound to its user"
    );
    let (token, info) = svc
        .login_with_key("cl", key, Lang::En, None)
        .await
        .expect("key login");
    assert_eq!((info.level, info.client_id), (Level::User, Some(client)));
    svc.authenticate(&token).await.expect("session");
    assert!(
        matches!(
            svc.login_with_key("cl", key, Lang::En, None).await,
            Err(AuthError::BadCredentials)
        ),
        "a key works once"
    );
    svc.new_login_key(&admin(), "cl", key)
        .await
        .expect("newkey again");
    db.clock
        .advance(app::service::session::LOGIN_KEY_MILLIS + 1);
    assert!(
        matches!(
            svc.login_with_key("cl", key, Lang::En, None).await,
            Err(AuthError::BadCredentials)
        ),
        "an expired key is refused"
    );
}

async fn an_admin_can_su_to_a_user_and_password_checks_keep_no_session(db: &TestDb) {
    let svc = db.services();
    let client = svc.add_client(&admin(), "C", None).await.expect("client");
    svc.add_user(&admin(), "cl", "long-password", Level::User, Some(client))
        .await
        .expect("user");
    svc.add_user(&admin(), "boss", "long-password", Level::Admin, None)
        .await
        .expect("admin");
    let boss = svc
        .authenticate_password("boss", "long-password", Lang::En, None)
        .await
        .expect("authinfo");
    assert_eq!(
        (boss.level, boss.session_hash.clone()),
        (Level::Admin, None)
    );
    let token = svc.su_to_user(&boss, "cl").await.expect("su");
    let as_client = svc.authenticate(&token).await.expect("client session");
    assert_eq!(
        (as_client.user_name.as_str(), as_client.client_id),
        ("cl", Some(client))
    );
    assert!(
        matches!(
            svc.su_to_user(&as_client, "boss").await,
            Err(app::service::AuthError::Denied(_))
        ),
        "a client cannot su"
    );
    assert!(matches!(
        svc.su_to_user(&boss, "ghost").await,
        Err(app::service::AuthError::NoUser(_))
    ));
}

async fn dossiers_link_a_service_its_client_and_its_task(db: &TestDb) {
    use app::types::dossier::Subject;
    let svc = db.services();
    let (client, _module, items) = world(&svc).await;
    let id = svc
        .create_operation(&admin(), &open(items[1]))
        .await
        .expect("create");
    let outcome = svc.create_tasks(&admin(), &[id]).await.expect("task");
    assert!(outcome.results[0].1.is_ok(), "{outcome:?}");
    let task = svc
        .list_operations(&admin(), ListQuery::default())
        .await
        .expect("list")
        .rows
        .iter()
        .find(|r| r.id == id)
        .and_then(|r| r.task_id)
        .expect("the row has its task");

    let service = svc
        .dossier(&admin(), Subject::Service, items[1])
        .await
        .expect("service dossier");
    assert_eq!(service.title, format!("Service #{} vm1.example", items[1]));
    assert_eq!(service.now, T0);
    assert!(service.facts.iter().any(|f| f.href.as_deref()
        == Some(format!("/clients/{client}").as_str())
        && f.value.ends_with("Northwind")));
    assert_eq!(
        service.operations.iter().map(|o| o.id).collect::<Vec<_>>(),
        [id]
    );

    let of_client = svc
        .dossier(&admin(), Subject::Client, client)
        .await
        .expect("client dossier");
    let services: Vec<_> = of_client
        .facts
        .iter()
        .filter_map(|f| f.href.clone())
        .collect();
    assert_eq!(
        services,
        items
            .iter()
            .map(|i| format!("/services/{i}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(of_client.operations.len(), 1);

    let of_task = svc
        .dossier(&admin(), Subject::Task, task)
        .await
        .expect("task dossier");
    assert!(of_task
        .facts
        .iter()
        .any(|f| f.href.as_deref() == Some(format!("/operation/{id}").as_str())));
    assert_eq!(of_task.operations[0].id, id);

    assert!(matches!(
        svc.dossier(&admin(), Subject::Client, 999_999).await,
        Err(app::service::DossierError::NotFound { id: 999_999, .. })
    ));
    assert!(
        matches!(
            svc.dossier(
                &actor_with(Level::User, Some(client)),
                Subject::Client,
                client
            )
            .await,
            Err(app::service::DossierError::Denied(_))
        ),
        "dossiers are the staff's"
    );
}

async fn exec_programs_come_only_from_the_modules_directory(db: &TestDb) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("dir");
    let modules = dir.path().join("modules");
    std::fs::create_dir(&modules).expect("modules dir");
    let inside = modules.join("vm.sh");
    std::fs::write(&inside, "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(&inside, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::os::unix::fs::symlink("/bin/sh", modules.join("shell")).expect("symlink");
    let svc = db.services().with_modules_dir(&modules);
    let exec = |name: &str, program: &str| ModuleInput::new(name, ModuleKind::Exec, program);
    let id = svc
        .add_module(&admin(), &exec("VM", &inside.to_string_lossy()))
        .await
        .expect("a program inside is taken");
    let refused = |result: Result<_, app::service::ModuleError>| match result.map(|_| ()) {
        Err(e) => AppError::from(e),
        Ok(()) => panic!("accepted a program outside the modules directory"),
    };
    let outside = AppError::Value {
        fields: vec![FieldError::new(
            "program",
            "/bin/true",
            FieldReason::OutsideModules,
        )],
    };
    assert_eq!(
        refused(svc.add_module(&admin(), &exec("Host", "/bin/true")).await),
        outside
    );
    let climbing = format!("{}/../../../bin/true", modules.display());
    assert!(matches!(
        refused(svc.add_module(&admin(), &exec("Climb", &climbing)).await),
        AppError::Value { fields } if fields[0].reason == FieldReason::OutsideModules
    ));
    let link = modules.join("shell").to_string_lossy().into_owned();
    assert!(matches!(
        refused(svc.add_module(&admin(), &exec("Link", &link)).await),
        AppError::Value { fields } if fields[0].reason == FieldReason::OutsideModules
    ));
    let change = ModuleChange {
        target: Some("/bin/true".into()),
        ..ModuleChange::default()
    };
    assert_eq!(
        refused(svc.change_module(&admin(), id, &change).await.map(|()| id)),
        outside,
        "nor can a module be pointed elsewhere later"
    );
    let mut operator = exec("Operator's choice", "/bin/true");
    operator.outside_modules_dir = true;
    svc.add_module(&admin(), &operator)
        .await
        .expect("the command line's explicit flag");
}

/// Reads an export back: its header and its rows.
async fn read_csv(export: app::service::export::CsvExport) -> (Vec<String>, Vec<Vec<String>>) {
    let bytes = export.collect().await.expect("export");
    let mut reader = csv::Reader::from_reader(bytes.as_slice());
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("record").iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

async fn the_csv_export_is_the_list_as_filtered_and_sorted_in_the_callers_language(db: &TestDb) {
    use app::service::export::{CsvOptions, ExportError};
    use app::types::{SortColumn, SortOrder};
    let svc = db.services();
    svc.load_demo(&admin(), "/bin/true")
        .await
        .expect("demo")
        .expect("loaded");
    let uid = svc
        .add_user(&admin(), "boss", "long-password", Level::Admin, None)
        .await
        .expect("user");
    let boss = Actor {
        user_id: Some(uid),
        user_name: "boss".into(),
        lang: Lang::Ru,
        ..admin()
    };
    let filter = OperationFilter {
        status: Some(Status::Manual),
        ..OperationFilter::default()
    };
    svc.save_operation_filter(&boss, &filter)
        .await
        .expect("filter");
    let page = svc
        .list_operations(
            &boss,
            ListQuery {
                filter,
                sort: SortColumn::Client,
                order: SortOrder::Desc,
                page: 1,
                page_size: 1000,
                seek: None,
            },
        )
        .await
        .expect("list");
    assert!(page.rows.len() >= 20, "{} rows", page.rows.len());
    let export = svc
        .export_operations(
            &boss,
            SortColumn::Client,
            SortOrder::Desc,
            CsvOptions::default(),
        )
        .await
        .expect("export");
    assert!(
        export.filename.starts_with("operations-20250110-"),
        "{}",
        export.filename
    );
    let (header, rows) = read_csv(export).await;
    assert_eq!(&header[..3], ["Id", "Описание", "Услуга/товар"]);
    assert_eq!(header.len(), 12);
    let listed: Vec<(String, String, String, String)> = page
        .rows
        .iter()
        .map(|r| {
            (
                r.id.to_string(),
                r.client_name.clone(),
                r.trycount.to_string(),
                r.status.label(Lang::Ru).to_owned(),
            )
        })
        .collect();
    let exported: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|r| (r[0].clone(), r[4].clone(), r[6].clone(), r[9].clone()))
        .collect();
    assert_eq!(exported, listed, "the rows of the list, in its order");

    // Excel's byte-order mark, when asked for.
    let bytes = svc
        .export_operations(
            &boss,
            SortColumn::Id,
            SortOrder::Asc,
            CsvOptions { bom: true },
        )
        .await
        .expect("export")
        .collect()
        .await
        .expect("bytes");
    assert!(bytes.starts_with(b"\xEF\xBB\xBFId,"));

    // The history of one operation, and the journal, admins only.
    let id = page.rows[0].id;
    let attempts = svc.list_attempts(&boss, id).await.expect("attempts");
    let (header, rows) = read_csv(
        svc.export_history(&boss, id, CsvOptions::default())
            .await
            .expect("history"),
    )
    .await;
    assert_eq!(header[1], "Начало");
    assert_eq!(
        rows.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        attempts
            .iter()
            .map(|a| a.id.to_string())
            .collect::<Vec<_>>()
    );
    let (_, journal) = read_csv(
        svc.export_journal(&boss, CsvOptions::default())
            .await
            .expect("journal"),
    )
    .await;
    let ids: Vec<i64> = journal.iter().map(|r| r[0].parse().expect("id")).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "oldest first");
    assert!(
        journal.iter().any(|r| r[2] == "cli" && r[4] == "user"),
        "the journal holds the user added at the command line"
    );
    let reader = actor_with(Level::Readonly, None);
    assert!(
        matches!(
            svc.export_journal(&reader, CsvOptions::default()).await,
            Err(ExportError::Operation(OperationError::Denied(_)))
        ),
        "a read-only session does not read the journal"
    );
    let client = actor_with(Level::User, Some(1));
    assert!(
        matches!(
            svc.export_operations(
                &client,
                SortColumn::Id,
                SortOrder::Asc,
                CsvOptions::default()
            )
            .await,
            Err(ExportError::Operation(OperationError::Denied(_)))
        ),
        "a client never exports the list"
    );
    assert!(matches!(
        svc.export_history(&boss, 999_999, CsvOptions::default())
            .await,
        Err(ExportError::Operation(OperationError::NotFound(999_999)))
    ));
}

async fn exported_cells_a_spreadsheet_would_run_are_quoted_and_exports_are_bounded(db: &TestDb) {
    use app::service::export::{CsvOptions, ExportError, MAX_EXPORTS};
    use app::types::{SortColumn, SortOrder};
    let svc = db.services();
    let a = admin();
    let client = svc
        .add_client(&a, "=HYPERLINK(\"http://evil.example\",\"click\")", None)
        .await
        .expect("client");
    let module = svc
        .add_module(&a, &ModuleInput::new("VM", ModuleKind::Exec, "/bin/true"))
        .await
        .expect("module");
    let item = svc
        .add_item(
            &a,
            client,
            module,
            "vds",
            "vm, \"quoted\"\nnext",
            ItemStatus::Ordered,
        )
        .await
        .expect("item");
    svc.create_operation(&a, &open(item)).await.expect("create");
    let (_, rows) = read_csv(
        svc.export_operations(&a, SortColumn::Id, SortOrder::Asc, CsvOptions::default())
            .await
            .expect("export"),
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0][4], "'=HYPERLINK(\"http://evil.example\",\"click\")");
    assert_eq!(rows[0][2], format!("#{item} vm, \"quoted\"\nnext"));

    // Exports that nobody reads hold their slots; one more is refused, not queued. (Enough
    // rows that an unread export cannot finish: more than its chunks in flight hold.)
    bulk_operations(db, client, module, 600, 0).await;
    let mut held = Vec::new();
    for _ in 0..MAX_EXPORTS {
        held.push(
            svc.export_operations(&a, SortColumn::Id, SortOrder::Asc, CsvOptions::default())
                .await
                .expect("a free slot"),
        );
    }
    assert!(matches!(
        svc.export_operations(&a, SortColumn::Id, SortOrder::Asc, CsvOptions::default())
            .await,
        Err(ExportError::Busy)
    ));
    drop(held);
    // The slots come back once their tasks see the readers gone.
    let mut again = None;
    for _ in 0..100 {
        match svc
            .export_operations(&a, SortColumn::Id, SortOrder::Asc, CsvOptions::default())
            .await
        {
            Ok(export) => {
                again = Some(export);
                break;
            }
            Err(ExportError::Busy) => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(again.is_some(), "a slot came back after its reader left");
}

async fn the_dashboard_charts_what_ran_by_the_hour_for_staff_only(db: &TestDb) {
    use app::service::engine::{FinishedRun, RunResult};
    use app::types::chart::ChartWindow;
    use app::types::dossier::Subject;
    let svc = db.services();
    let (_client, module, items) = world(&svc).await;
    for item in &items {
        svc.create_operation(&admin(), &open(*item))
            .await
            .expect("create");
    }
    svc.keep_rollups().await.expect("sample: three waiting");
    db.clock.advance(90_000);
    // The module runs two at a time: the first succeeds, the other two fail.
    let mut finished = 0;
    while finished < 3 {
        let claims = svc
            .claim_operations("node-a", 10, std::time::Duration::from_secs(30))
            .await
            .expect("claim");
        assert!(!claims.is_empty());
        let runs: Vec<FinishedRun> = claims
            .iter()
            .map(|claim| {
                finished += 1;
                FinishedRun {
                    claim: claim.clone(),
                    max_tries: 5,
                    result: if finished == 1 {
                        RunResult::Ok { log: String::new() }
                    } else {
                        RunResult::Failed {
                            error_type: "connect".into(),
                            message: "connection refused".into(),
                            log: String::new(),
                        }
                    },
                }
            })
            .collect();
        assert_eq!(svc.finish_runs(&runs).await.expect("finish"), runs.len());
    }
    svc.keep_rollups().await.expect("sample: two in error");

    let dashboard = svc
        .dashboard(&actor_with(Level::Readonly, None), ChartWindow::Day)
        .await
        .expect("dashboard");
    let keys: Vec<&str> = dashboard.charts.iter().map(|c| c.key.as_str()).collect();
    let own = format!("module-{module}");
    assert_eq!(keys, ["attempts", "queue", "rate", own.as_str()]);
    let attempts = &dashboard.charts[0];
    assert_eq!(
        attempts.table,
        vec![
            vec![
                "Hour (UTC)",
                "Succeeded",
                "Failed",
                "Interrupted or stopped"
            ],
            vec!["2025-01-10 12:00", "1", "2", "0"],
        ]
    );
    assert_eq!(
        attempts.svg.matches("<rect class=\"s-").count(),
        3 + 2,
        "the legend's three swatches and one bar of two segments: {}",
        attempts.svg
    );
    let queue = &dashboard.charts[1];
    assert_eq!(
        queue.table[1],
        vec!["2025-01-10 12:00", "2", "0", "1", "0"],
        "waiting 3 then 0, error 0 then 2: the means of two minutes, rounded ({:?})",
        queue.table
    );
    let rate = &dashboard.charts[2];
    assert!(rate.svg.contains("33.3 % of 3"), "{}", rate.svg);
    assert_eq!(dashboard.charts[3].href, Some(format!("/modules/{module}")));
    let week = svc
        .dashboard(&admin(), ChartWindow::Week)
        .await
        .expect("week");
    assert_eq!(week.charts[0].table, attempts.table);

    // The module's page: its counts, its rates, its chart.
    let dossier = svc
        .dossier(&admin(), Subject::Module, module)
        .await
        .expect("module dossier");
    let facts: Vec<(&str, &str)> = dossier
        .facts
        .iter()
        .map(|f| (f.label.as_str(), f.value.as_str()))
        .collect();
    assert!(
        facts.contains(&(
            "Current",
            "Waiting: 0 · Running: 0 · Error, restart scheduled: 2 · Needs attention: 0"
        )),
        "{facts:?}"
    );
    assert!(
        facts.contains(&("Success, 24 hours", "33.3 % (1 / 3)")),
        "{facts:?}"
    );
    assert_eq!(dossier.charts.len(), 1);
    assert_eq!(dossier.charts[0].table, attempts.table);
    assert_eq!(dossier.operations.len(), 2);

    // Clients see no charts.
    let client = actor_with(Level::User, Some(1));
    assert!(matches!(
        svc.dashboard(&client, ChartWindow::Day).await,
        Err(app::service::ChartError::Denied(_))
    ));
}

async fn pausing_and_resuming_a_module_is_for_admins_and_journaled(db: &TestDb) {
    use app::service::CircuitError;
    use app::types::circuit::CircuitState;
    let svc = db.services();
    let (_client, module, _items) = world(&svc).await;
    let state = |circuits: Vec<app::types::circuit::CircuitView>| {
        circuits
            .into_iter()
            .find(|c| c.module_id == module)
            .map(|c| (c.state, c.reason))
    };
    let viewer = actor_with(Level::Readonly, None);
    assert!(matches!(
        svc.pause_module(&viewer, module).await,
        Err(CircuitError::Denied(_))
    ));
    assert!(matches!(
        svc.pause_module(&admin(), 999_999).await,
        Err(CircuitError::NotFound(999_999))
    ));
    svc.pause_module(&admin(), module).await.expect("pause");
    assert_eq!(
        state(svc.troubled_circuits(&viewer).await.expect("banner")),
        Some((
            CircuitState::Paused,
            Some(format!("paused by {}", admin().user_name))
        ))
    );
    svc.resume_module(&admin(), module).await.expect("resume");
    assert!(svc
        .troubled_circuits(&viewer)
        .await
        .expect("banner")
        .is_empty());
    let actions: Vec<String> = svc
        .store()
        .list_journal("processing", module)
        .await
        .expect("journal")
        .into_iter()
        .map(|j| j.action)
        .collect();
    assert!(
        actions.ends_with(&["processing.pause".into(), "processing.resume".into()]),
        "{actions:?}"
    );
    // The rule: bounded, admins only.
    let refused = svc
        .set_circuit_rule(&admin(), module, -1, 0)
        .await
        .expect_err("out of range");
    let fields: Vec<(String, FieldReason)> = match refused {
        ModuleError::Invalid(fields) => fields.into_iter().map(|f| (f.field, f.reason)).collect(),
        other => panic!("expected invalid fields, got {other:?}"),
    };
    assert_eq!(
        fields,
        vec![
            (
                "circuit_failures".into(),
                FieldReason::OutOfRange(0, 10_000)
            ),
            ("circuit_window".into(), FieldReason::OutOfRange(1, 86_400)),
        ]
    );
    assert!(matches!(
        svc.set_circuit_rule(&viewer, module, 3, 30).await,
        Err(ModuleError::Denied(_))
    ));
    svc.set_circuit_rule(&admin(), module, 3, 30)
        .await
        .expect("rule");
    let circuit = svc
        .circuits(&viewer)
        .await
        .expect("circuits")
        .into_iter()
        .find(|c| c.module_id == module)
        .expect("circuit");
    assert_eq!((circuit.failures, circuit.window_secs), (3, 30));
}

async fn status_counts_cover_every_status_and_a_click_narrows_the_saved_filter(db: &TestDb) {
    let svc = db.services();
    let (client, _module, items) = world(&svc).await;
    for item in &items {
        svc.create_operation(&admin(), &open(*item))
            .await
            .expect("create");
    }
    let uid = svc
        .add_user(&admin(), "viewer", "long-password", Level::Readonly, None)
        .await
        .expect("user");
    let viewer = Actor {
        user_id: Some(uid),
        user_name: "viewer".into(),
        level: Level::Readonly,
        ..admin()
    };
    assert_eq!(
        svc.status_counts(&viewer).await.expect("counts"),
        vec![
            (Status::Waiting, 3),
            (Status::Running, 0),
            (Status::Error, 0),
            (Status::Manual, 0)
        ]
    );
    let client_only = OperationFilter {
        client: Some(client),
        ..OperationFilter::default()
    };
    svc.save_operation_filter(&viewer, &client_only)
        .await
        .expect("save");
    let saved = svc
        .filter_by_status(&viewer, Some(Status::Manual))
        .await
        .expect("narrow");
    assert_eq!(
        saved,
        OperationFilter {
            status: Some(Status::Manual),
            ..client_only.clone()
        },
        "the client stays"
    );
    assert_eq!(
        svc.load_operation_filter(&viewer).await.expect("load"),
        saved
    );
    svc.filter_by_status(&viewer, None).await.expect("lift");
    assert_eq!(
        svc.load_operation_filter(&viewer).await.expect("load"),
        client_only
    );
    assert!(svc
        .status_counts(&actor_with(Level::User, Some(client)))
        .await
        .is_err());
}

async fn the_journal_page_is_for_admins_and_the_history_interleaves_its_rows(db: &TestDb) {
    use app::service::JournalError;
    use app::types::journal::JournalForm;
    let svc = db.services();
    let (_client, _module, items) = world(&svc).await;
    let id = svc
        .create_operation(&admin(), &open(items[0]))
        .await
        .expect("create");
    svc.stop_operations(&admin(), &[id]).await.expect("stop");
    let page = svc
        .journal_page(
            &admin(),
            JournalForm {
                object: "runningoperation".into(),
                id: id.to_string(),
                ..JournalForm::default()
            },
        )
        .await
        .expect("journal");
    let actions: Vec<&str> = page.rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["runningoperation.stop", "runningoperation.edit"]);
    assert_eq!(page.rows[0].href, Some(format!("/operation/{id}")));
    assert_eq!(page.next, None);
    assert!(matches!(
        svc.journal_page(&actor_with(Level::Readonly, None), JournalForm::default())
            .await,
        Err(JournalError::Denied(_))
    ));
    assert!(matches!(
        svc.journal_page(
            &admin(),
            JournalForm {
                from: "not a date".into(),
                ..JournalForm::default()
            }
        )
        .await,
        Err(JournalError::Invalid(fields)) if fields[0].field == "from"
    ));
    let history = svc
        .operation_history(&actor_with(Level::Readonly, None), id)
        .await
        .expect("history");
    assert_eq!(history.journal.len(), 2);
    assert!(history.attempts.is_empty());
}

async fn failures_group_by_fingerprint_and_a_whole_group_is_acted_on_by_admins(db: &TestDb) {
    use app::service::engine::{FinishedRun, RunResult};
    use app::service::failure::FailureError;
    use app::types::failure::FailureAction;
    let svc = db.services();
    let a = admin();
    let (client, module, mut items) = world(&svc).await;
    let other = svc.add_client(&a, "Contoso", None).await.expect("client");
    for n in 0..2 {
        items.push(
            svc.add_item(
                &a,
                other,
                module,
                "vds",
                &format!("c{n}.example"),
                ItemStatus::Ordered,
            )
            .await
            .expect("item"),
        );
    }
    let mut ops = Vec::new();
    for item in &items {
        ops.push(
            svc.create_operation(&a, &open(*item))
                .await
                .expect("create"),
        );
    }
    // Four fail with the panel refusing (each its own address), one with its own bad value.
    let mut failed = 0;
    while failed < ops.len() {
        let claims = svc
            .claim_operations("node-a", 10, std::time::Duration::from_secs(30))
            .await
            .expect("claim");
        assert!(!claims.is_empty());
        let runs: Vec<FinishedRun> = claims
            .iter()
            .map(|claim| FinishedRun {
                claim: claim.clone(),
                max_tries: 5,
                result: RunResult::Failed {
                    error_type: if claim.operation_id == ops[0] {
                        "value"
                    } else {
                        "connect"
                    }
                    .into(),
                    message: if claim.operation_id == ops[0] {
                        "domain \"vm0.example\" is taken".into()
                    } else {
                        format!(
                            "connect to 10.0.{}.1:1500: Connection refused",
                            claim.operation_id
                        )
                    },
                    log: String::new(),
                },
            })
            .collect();
        failed += runs.len();
        svc.finish_runs(&runs).await.expect("finish");
    }
    let reader = actor_with(Level::Readonly, None);
    let groups = svc.failure_groups(&reader).await.expect("groups");
    assert_eq!(groups.len(), 2, "{groups:?}");
    let refused = &groups[0];
    assert_eq!(
        (
            refused.operations,
            refused.clients,
            refused.error_type.as_str()
        ),
        (4, 2, "connect")
    );
    assert_eq!(refused.template, "connect to <address>: Connection refused");
    assert_eq!(refused.module_name, "VMmanager");
    assert_eq!(refused.per_hour.iter().sum::<i64>(), 4);
    assert_eq!(refused.per_hour.len(), 24);
    assert_eq!(groups[1].template, "domain \"<value>\" is taken");
    assert_eq!((groups[1].operations, groups[1].clients), (1, 1));
    // Clients see no groups; ids are checked before they are looked up.
    assert!(matches!(
        svc.failure_groups(&actor_with(Level::User, Some(client)))
            .await,
        Err(FailureError::Denied(_))
    ));
    assert!(matches!(
        svc.failure_group(&reader, "'; DROP TABLE operation; --")
            .await,
        Err(FailureError::BadKey(_))
    ));
    assert!(matches!(
        svc.failure_group(&reader, &"0".repeat(16)).await,
        Err(FailureError::NotFound(_))
    ));
    // The list narrowed to the group shows its four operations.
    let page = svc
        .list_operations(
            &reader,
            ListQuery {
                filter: OperationFilter {
                    failure: Some(refused.key.clone()),
                    ..OperationFilter::default()
                },
                ..ListQuery::default()
            },
        )
        .await
        .expect("list");
    let mut listed: Vec<i64> = page.rows.iter().map(|r| r.id).collect();
    listed.sort();
    assert_eq!(listed, ops[1..].to_vec());
    // Only admins act; one task for the group, linked from each of its operations.
    let keys = vec![refused.key.clone()];
    assert!(matches!(
        svc.act_on_failure_groups(&reader, &keys, FailureAction::TaskCreate)
            .await,
        Err(FailureError::Denied(_))
    ));
    let summary = svc
        .act_on_failure_groups(&a, &keys, FailureAction::TaskCreate)
        .await
        .expect("task");
    assert_eq!(summary.done, 4);
    let task = summary.task_id.expect("a task");
    for id in &ops[1..] {
        let op = svc.store().get_operation(*id).await.unwrap().unwrap();
        assert_eq!(op.task_id, Some(task), "operation {id}");
    }
    let again = svc
        .act_on_failure_groups(&a, &keys, FailureAction::TaskCreate)
        .await
        .expect("again");
    assert_eq!((again.done, again.task_id), (0, Some(task)));
    assert_eq!(again.skipped, vec![("has_task".to_owned(), 4)]);
    // Stop all, then start all: every operation of the group, and nothing else.
    let stopped = svc
        .act_on_failure_groups(&a, &keys, FailureAction::Stop)
        .await
        .expect("stop");
    assert_eq!(stopped.done, 4);
    let started = svc
        .act_on_failure_groups(&a, &keys, FailureAction::Start)
        .await
        .expect("start");
    assert_eq!((started.done, started.skipped.len()), (4, 0));
    let untouched = svc.store().get_operation(ops[0]).await.unwrap().unwrap();
    assert_eq!(untouched.task_id, None);
    let journal = svc
        .store()
        .list_journal("runningoperation", ops[1])
        .await
        .expect("journal");
    let actions: Vec<&str> = journal.iter().map(|r| r.action.as_str()).collect();
    for action in [
        "runningoperation.failures.taskcreate",
        "runningoperation.stop",
        "runningoperation.start",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    // An unknown group among the ids refuses the whole call before anything is done.
    let mixed = vec![refused.key.clone(), "f".repeat(16)];
    assert!(matches!(
        svc.act_on_failure_groups(&a, &mixed, FailureAction::Stop).await,
        Err(FailureError::NotFound(key)) if key == "f".repeat(16)
    ));
}

/// `n` services named `bulk0.example`... of `client` on `module`, each with an operation, the
/// first `running` of them running and the rest waiting (bulk inserts, no journal).
async fn bulk_operations(db: &TestDb, client: i64, module: i64, n: usize, running: usize) {
    let items: Vec<app::store::NewItem> = (0..n)
        .map(|i| app::store::NewItem {
            client_id: client,
            module_id: module,
            itemtype: "vds".into(),
            name: format!("bulk{i}.example"),
            status: ItemStatus::Ordered,
            created: T0,
        })
        .collect();
    db.fixtures.bulk_insert_items(&items).await.expect("items");
    let operations: Vec<_> = db
        .store
        .list_items(Some(client))
        .await
        .expect("list items")
        .into_iter()
        .filter(|i| i.name.starts_with("bulk"))
        .enumerate()
        .map(|(k, i)| {
            let fields = app::store::OperationFields {
                intname: app::types::Intname::Open,
                item_id: i.id,
                client_id: client,
                module_id: module,
                itemtype: "vds".into(),
                cdate: T0,
                trycount: 0,
                manual: false,
                comment: String::new(),
            };
            let state = if k < running {
                OperationState::Running
            } else {
                OperationState::Waiting
            };
            (fields, state, None)
        })
        .collect();
    assert_eq!(operations.len(), n);
    db.fixtures
        .bulk_insert_operations(&operations)
        .await
        .expect("operations");
}

async fn a_bulk_job_acts_on_everything_matching_in_batches_and_survives_its_node(db: &TestDb) {
    use app::service::bulk::{BulkError, BATCH};
    use app::types::bulk::{BulkAction, BulkState};
    use std::time::Duration;
    let svc = db.services();
    let a = admin();
    let (client, module, _) = world(&svc).await;
    // 1,200 waiting operations and 3 running ones, all of one client.
    bulk_operations(db, client, module, 1_203, 3).await;
    // Only admins ask; the job takes the caller's saved filter (this client).
    let reader = actor_with(Level::Readonly, None);
    assert!(matches!(
        svc.start_bulk_job(&reader, BulkAction::Delete).await,
        Err(BulkError::Operation(OperationError::Denied(_)))
    ));
    svc.save_operation_filter(
        &a,
        &OperationFilter {
            client: Some(client),
            ..OperationFilter::default()
        },
    )
    .await
    .expect("filter");
    let job = svc
        .start_bulk_job(&a, BulkAction::Delete)
        .await
        .expect("job");
    assert_eq!(
        (job.state, job.total, job.done),
        (BulkState::Queued, 1_203, 0)
    );
    // Node A takes it and runs one batch, then dies.
    let lease = Duration::from_secs(30);
    let held = svc
        .claim_bulk_job("node-a", lease, None)
        .await
        .expect("claim")
        .expect("a job");
    let first = svc
        .run_bulk_batch(&held, "node-a", lease)
        .await
        .expect("batch");
    assert!(!first.stop);
    assert_eq!(first.job.handled(), i64::from(BATCH));
    assert_eq!(first.job.skipped, vec![("running".to_owned(), 3)]);
    assert_eq!(first.changed.len(), BATCH as usize - 3);
    // Nobody else takes it while the lease holds; after it runs out node B goes on from the
    // cursor, and node A's late batch writes nothing.
    assert!(svc
        .claim_bulk_job("node-b", lease, None)
        .await
        .unwrap()
        .is_none());
    db.clock.advance(31_000);
    let taken = svc
        .claim_bulk_job("node-b", lease, None)
        .await
        .unwrap()
        .expect("taken over");
    let late = svc
        .run_bulk_batch(&held, "node-a", lease)
        .await
        .expect("late");
    assert!(late.stop && late.changed.is_empty());
    let last = loop {
        let outcome = svc
            .run_bulk_batch(&taken, "node-b", lease)
            .await
            .expect("batch");
        if outcome.stop {
            break outcome.job;
        }
    };
    assert_eq!(last.state, BulkState::Done);
    assert_eq!((last.done, last.handled()), (1_200, 1_203));
    // Each operation deleted once, with its journal row naming the job.
    let left = svc
        .list_operations(&a, ListQuery::default())
        .await
        .expect("list");
    assert_eq!(left.total, 3, "the three running are left");
    let journal = svc
        .store()
        .journal_page(
            &app::store::JournalFilter {
                object: Some("runningoperation".into()),
                ..Default::default()
            },
            2_000,
        )
        .await
        .expect("journal");
    let by_job = journal
        .iter()
        .filter(|r| {
            r.action == "runningoperation.delete" && r.detail == format!("bulk job {}", job.id)
        })
        .count();
    assert_eq!(by_job, 1_200);
    // A cancelled job writes nothing more; a finished one cannot be cancelled.
    let stop = svc
        .queue_bulk_job(&a, BulkAction::Stop, &OperationFilter::default())
        .await
        .expect("job");
    let held = svc
        .claim_bulk_job("node-a", lease, Some(stop.id))
        .await
        .unwrap()
        .expect("claim");
    let cancelled = svc.cancel_bulk_job(&a, stop.id).await.expect("cancel");
    assert_eq!(cancelled.state, BulkState::Cancelled);
    let after = svc
        .run_bulk_batch(&held, "node-a", lease)
        .await
        .expect("batch");
    assert!(after.stop && after.changed.is_empty() && after.job.done == 0);
    assert_eq!(
        svc.cancel_bulk_job(&a, job.id).await.expect("over").state,
        BulkState::Done
    );
    assert!(matches!(
        svc.bulk_job(&a, 999_999).await,
        Err(BulkError::NotFound(999_999))
    ));
}

on_both_databases!(
    a_bulk_job_acts_on_everything_matching_in_batches_and_survives_its_node,
    failures_group_by_fingerprint_and_a_whole_group_is_acted_on_by_admins,
    the_journal_page_is_for_admins_and_the_history_interleaves_its_rows,
    status_counts_cover_every_status_and_a_click_narrows_the_saved_filter,
    pausing_and_resuming_a_module_is_for_admins_and_journaled,
    the_dashboard_charts_what_ran_by_the_hour_for_staff_only,
    the_csv_export_is_the_list_as_filtered_and_sorted_in_the_callers_language,
    exported_cells_a_spreadsheet_would_run_are_quoted_and_exports_are_bounded,
    exec_programs_come_only_from_the_modules_directory,
    creating_an_operation_fills_defaults_and_journals,
    every_bad_field_is_named,
    a_second_active_operation_on_a_service_conflicts,
    changing_an_operation_keeps_what_was_not_sent,
    a_running_operation_keeps_its_type_and_service,
    group_actions_report_each_id,
    starting_on_a_switched_off_module_is_refused,
    error_history_and_logs_are_readable,
    setfilter_saves_the_rows_client_for_the_caller,
    gotoserver_gives_the_panel_or_says_there_is_none,
    logins_sessions_and_expiry,
    su_opens_a_client_session_linked_to_the_admin,
    levels_limit_what_a_caller_may_do,
    reference_data_is_validated,
    demo_data_covers_every_status_once,
    failed_logins_are_throttled_per_user_and_per_address,
    a_login_key_works_once_and_expires,
    an_admin_can_su_to_a_user_and_password_checks_keep_no_session,
    dossiers_link_a_service_its_client_and_its_task,
);
