//! The store conformance suite: every store function, run against SQLite and PostgreSQL alike.

mod support;

use app::service::failure::fingerprint;
use app::service::Actor;
use app::store::rollups::{AttemptHour, QueueHour, HOUR_MS, ROLLUP_KEEP_MS};
use app::store::{
    GroupQuery, JournalEntry, ModuleRecord, NewAttempt, NewClient, NewItem, OperationFields,
    SessionRecord, Store, StoreError, UserRecord,
};
use app::types::failure::FailureMark;
use app::types::page::Seek;
use app::types::queue::{
    AfterAttempt, Claim, ClaimRequest, Finish, OperationState, RescuedBatch, TaskKind,
};
use app::types::{
    AttemptOutcome, AttemptRow, ClientView, Intname, ItemStatus, Lang, Level, ListQuery,
    ModuleKind, OperationFilter, OperationRow, SortColumn, SortOrder, Status, Timestamp,
};
use sqlx::error::ErrorKind;
use support::{TestDb, T0};

/// The kind of constraint a refused write broke, or `None` when it failed some other way.
fn violation<T: std::fmt::Debug>(result: Result<T, StoreError>) -> Option<ErrorKind> {
    let err = result.expect_err("the database refuses the write");
    err.as_database_error().map(|e| e.kind())
}

fn entry(action: &str, object: &str, id: Option<i64>) -> JournalEntry {
    JournalEntry {
        at: T0,
        user_id: None,
        user_name: "tester".into(),
        action: action.into(),
        object: object.into(),
        object_id: id,
        detail: String::new(),
    }
}

fn module(name: &str) -> ModuleRecord {
    ModuleRecord {
        id: 0,
        name: name.into(),
        kind: ModuleKind::Http,
        target: "https://m.example/hook".into(),
        secret: Some("s3cret".into()),
        panel_url: Some("https://panel.example".into()),
        max_running: 2,
        max_tries: 10,
        timeout_secs: 60,
        enabled: true,
    }
}

/// A client, a module and `n` items of that client; returns (client, module, items).
async fn world(store: &dyn Store, n: usize) -> (i64, i64, Vec<i64>) {
    let client = store
        .insert_client(
            &NewClient {
                name: "Client A".into(),
                email: None,
                created: T0,
            },
            &entry("add", "account", None),
        )
        .await
        .expect("client");
    let module = store
        .insert_module(&module("Module A"), &entry("add", "processing", None))
        .await
        .expect("module");
    let mut items = Vec::new();
    for i in 0..n {
        let item = NewItem {
            client_id: client,
            module_id: module,
            itemtype: if i % 2 == 0 { "vds" } else { "domain" }.into(),
            name: format!("host{i}.example"),
            status: ItemStatus::Ordered,
            created: T0,
        };
        items.push(
            store
                .insert_item(&item, &entry("add", "item", None))
                .await
                .expect("item"),
        );
    }
    (client, module, items)
}

fn fields(item: i64, client: i64, module: i64) -> OperationFields {
    OperationFields {
        intname: Intname::Open,
        item_id: item,
        client_id: client,
        module_id: module,
        itemtype: "vds".into(),
        cdate: T0,
        trycount: 0,
        manual: false,
        comment: String::new(),
    }
}

async fn migrating_twice_changes_nothing(db: &TestDb) {
    db.store.migrate().await.expect("second migrate");
    db.store.maintain().await.expect("statistics refresh");
    assert_eq!(db.store.count_all_operations().await.expect("count"), 0);
}

async fn clients_round_trip_with_their_journal(db: &TestDb) {
    let s = &*db.store;
    let id = s
        .insert_client(
            &NewClient {
                name: "Anna".into(),
                email: Some("a@x.example".into()),
                created: T0,
            },
            &entry("account.edit", "account", None),
        )
        .await
        .expect("insert");
    let got = s.get_client(id).await.expect("get").expect("exists");
    assert_eq!(
        got,
        ClientView {
            id,
            name: "Anna".into(),
            email: Some("a@x.example".into()),
            created: T0
        }
    );
    let changed = ClientView {
        name: "Anna B".into(),
        ..got
    };
    assert!(s
        .update_client(&changed, &entry("account.edit", "account", Some(id)))
        .await
        .expect("update"));
    assert!(!s
        .update_client(
            &ClientView {
                id: 999,
                ..changed.clone()
            },
            &entry("x", "account", Some(999))
        )
        .await
        .expect("update missing"));
    assert_eq!(s.list_clients().await.expect("list"), vec![changed]);
    assert_eq!(s.get_client(999).await.expect("get missing"), None);
    let journal = s.list_journal("account", id).await.expect("journal");
    assert_eq!(
        journal.len(),
        2,
        "one row for the insert, one for the update: {journal:?}"
    );
}

async fn modules_keep_their_secret_and_refuse_a_taken_name(db: &TestDb) {
    let s = &*db.store;
    let id = s
        .insert_module(&module("VM"), &entry("add", "processing", None))
        .await
        .expect("insert");
    let mut got = s.get_module(id).await.expect("get").expect("exists");
    assert_eq!(got.secret.as_deref(), Some("s3cret"));
    assert!(got.view().has_secret);
    got.enabled = false;
    got.max_running = 7;
    assert!(s
        .update_module(&got, &entry("edit", "processing", Some(id)))
        .await
        .expect("update"));
    assert_eq!(s.list_modules().await.expect("list"), vec![got]);
    let err = s
        .insert_module(&module("VM"), &entry("add", "processing", None))
        .await
        .expect_err("taken");
    assert!(
        err.as_database_error()
            .is_some_and(|e| e.is_unique_violation()),
        "{err}"
    );
}

async fn a_module_with_a_bad_limit_is_refused_by_the_schema(db: &TestDb) {
    let bad = ModuleRecord {
        max_running: 0,
        ..module("Bad")
    };
    assert_eq!(
        violation(
            db.store
                .insert_module(&bad, &entry("add", "processing", None))
                .await
        ),
        Some(ErrorKind::CheckViolation)
    );
}

async fn items_are_listed_per_client(db: &TestDb) {
    let s = &*db.store;
    let (client, module, items) = world(s, 3).await;
    let other = s
        .insert_client(
            &NewClient {
                name: "B".into(),
                email: None,
                created: T0,
            },
            &entry("a", "account", None),
        )
        .await
        .expect("client");
    let extra = s
        .insert_item(
            &NewItem {
                client_id: other,
                module_id: module,
                itemtype: "ssl".into(),
                name: "x".into(),
                status: ItemStatus::Active,
                created: T0,
            },
            &entry("a", "item", None),
        )
        .await
        .expect("item");
    let of_client: Vec<i64> = s
        .list_items(Some(client))
        .await
        .expect("list")
        .iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(of_client, items);
    assert_eq!(s.list_items(None).await.expect("all").len(), 4);
    let mut item = s.get_item(extra).await.expect("get").expect("exists");
    item.status = ItemStatus::Suspended;
    assert!(s
        .update_item(&item, &entry("e", "item", Some(extra)))
        .await
        .expect("update"));
    assert_eq!(
        s.get_item(extra)
            .await
            .expect("get")
            .expect("exists")
            .status,
        ItemStatus::Suspended
    );
}

async fn an_item_of_a_missing_client_is_refused_by_the_schema(db: &TestDb) {
    let (_, module, _) = world(&*db.store, 0).await;
    let item = NewItem {
        client_id: 4242,
        module_id: module,
        itemtype: "vds".into(),
        name: "x".into(),
        status: ItemStatus::Ordered,
        created: T0,
    };
    assert_eq!(
        violation(db.store.insert_item(&item, &entry("a", "item", None)).await),
        Some(ErrorKind::ForeignKeyViolation)
    );
}

async fn a_service_has_at_most_one_active_operation(db: &TestDb) {
    let s = &*db.store;
    let (client, module, items) = world(s, 1).await;
    let f = fields(items[0], client, module);
    let first = s
        .insert_operation(
            &f,
            OperationState::Waiting,
            T0,
            &entry("a", "runningoperation", None),
        )
        .await
        .expect("first");
    let err = s
        .insert_operation(
            &f,
            OperationState::Waiting,
            T0,
            &entry("a", "runningoperation", None),
        )
        .await
        .expect_err("second");
    assert!(
        err.as_database_error()
            .is_some_and(|e| e.is_unique_violation()),
        "{err}"
    );
    assert!(s
        .delete_operation(first, T0, &entry("d", "runningoperation", Some(first)))
        .await
        .expect("delete"));
    s.insert_operation(
        &f,
        OperationState::Waiting,
        T0,
        &entry("a", "runningoperation", None),
    )
    .await
    .expect("after delete");
}

async fn a_negative_trycount_is_refused_by_the_schema(db: &TestDb) {
    let s = &*db.store;
    let (client, module, items) = world(s, 1).await;
    let f = OperationFields {
        trycount: -1,
        ..fields(items[0], client, module)
    };
    assert_eq!(
        violation(
            s.insert_operation(
                &f,
                OperationState::Waiting,
                T0,
                &entry("a", "runningoperation", None)
            )
            .await
        ),
        Some(ErrorKind::CheckViolation)
    );
}

async fn an_operation_round_trips_and_changes(db: &TestDb) {
    let s = &*db.store;
    let (client, module, items) = world(s, 2).await;
    let id = s
        .insert_operation(
            &fields(items[0], client, module),
            OperationState::Waiting,
            T0,
            &entry("a", "runningoperation", None),
        )
        .await
        .expect("insert");
    let op = s.get_operation(id).await.expect("get").expect("exists");
    assert_eq!(op.fields, fields(items[0], client, module));
    assert_eq!(op.state, OperationState::Waiting);
    assert_eq!(
        (op.task_id, op.run_requested, op.stop_requested),
        (None, false, false)
    );
    let changed = OperationFields {
        intname: Intname::Suspend,
        item_id: items[1],
        trycount: 4,
        manual: true,
        comment: "c".into(),
        ..op.fields
    };
    assert!(s
        .update_operation(id, &changed, &entry("e", "runningoperation", Some(id)))
        .await
        .expect("update"));
    assert_eq!(
        s.get_operation(id)
            .await
            .expect("get")
            .expect("exists")
            .fields,
        changed
    );
    assert!(!s
        .update_operation(999, &changed, &entry("e", "runningoperation", Some(999)))
        .await
        .expect("missing"));
    assert_eq!(s.get_operation(999).await.expect("get missing"), None);
}

/// Five operations on five items: ids[i] has trycount i, cdate T0 + i h, and a state by index.
async fn five_operations(db: &TestDb) -> Vec<i64> {
    let s = &*db.store;
    let (client, module, items) = world(s, 5).await;
    let mut ids = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let f = OperationFields {
            intname: [
                Intname::Open,
                Intname::Suspend,
                Intname::Resume,
                Intname::Close,
                Intname::Prolong,
            ][i],
            itemtype: if i % 2 == 0 { "vds" } else { "domain" }.into(),
            cdate: Timestamp(T0.0 + i as i64 * 3_600_000),
            trycount: i as i64,
            manual: i == 4,
            ..fields(*item, client, module)
        };
        let id = s
            .insert_operation(
                &f,
                OperationState::Waiting,
                T0,
                &entry("a", "runningoperation", None),
            )
            .await
            .expect("insert");
        ids.push(id);
    }
    s.force_state(ids[1], OperationState::Running, None, T0)
        .await
        .expect("running");
    s.force_state(
        ids[2],
        OperationState::Error,
        Some("Disk_Quota exceeded on node 7"),
        T0,
    )
    .await
    .expect("error");
    s.force_state(ids[4], OperationState::Error, Some("panel down"), T0)
        .await
        .expect("error");
    ids
}

async fn ids_of(s: &dyn Store, filter: OperationFilter) -> Vec<i64> {
    let query = ListQuery {
        filter,
        ..ListQuery::default()
    };
    s.list_operations(&query)
        .await
        .expect("list")
        .iter()
        .map(|r| r.id)
        .collect()
}

async fn every_filter_field_narrows_the_list(db: &TestDb) {
    let ids = five_operations(db).await;
    let s = &*db.store;
    let op0 = s.get_operation(ids[0]).await.expect("get").expect("exists");
    let f = OperationFilter::default;
    assert_eq!(ids_of(s, f()).await, ids);
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                id: Some(ids[3]),
                ..f()
            }
        )
        .await,
        vec![ids[3]]
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                intname: Some(Intname::Resume),
                ..f()
            }
        )
        .await,
        vec![ids[2]]
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                item: Some(op0.fields.item_id),
                ..f()
            }
        )
        .await,
        vec![ids[0]]
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                itemtype: Some("domain".into()),
                ..f()
            }
        )
        .await,
        vec![ids[1], ids[3]]
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                client: Some(op0.fields.client_id),
                ..f()
            }
        )
        .await,
        ids
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                client: Some(op0.fields.client_id + 100),
                ..f()
            }
        )
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                processingmodule: Some(op0.fields.module_id),
                ..f()
            }
        )
        .await,
        ids
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                status: Some(Status::Running),
                ..f()
            }
        )
        .await,
        vec![ids[1]]
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                status: Some(Status::Error),
                ..f()
            }
        )
        .await,
        vec![ids[2]]
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                status: Some(Status::Manual),
                ..f()
            }
        )
        .await,
        vec![ids[4]]
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                status: Some(Status::Waiting),
                ..f()
            }
        )
        .await,
        vec![ids[0], ids[3]]
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                manual: Some(true),
                ..f()
            }
        )
        .await,
        vec![ids[4]]
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                has_task: Some(true),
                ..f()
            }
        )
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                has_task: Some(false),
                ..f()
            }
        )
        .await
        .len(),
        5
    );
    let h = 3_600_000;
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                created_from: Some(Timestamp(T0.0 + h)),
                created_to: Some(Timestamp(T0.0 + 2 * h)),
                ..f()
            }
        )
        .await,
        vec![ids[1], ids[2]]
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                min_trycount: Some(3),
                ..f()
            }
        )
        .await,
        vec![ids[3], ids[4]]
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                error_text: Some("disk_quota".into()),
                ..f()
            }
        )
        .await,
        vec![ids[2]]
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                error_text: Some("%".into()),
                ..f()
            }
        )
        .await,
        Vec::<i64>::new()
    );
}

async fn list_rows_carry_names_and_derived_status(db: &TestDb) {
    let ids = five_operations(db).await;
    let rows = db
        .store
        .list_operations(&ListQuery::default())
        .await
        .expect("list");
    let row = rows.iter().find(|r| r.id == ids[4]).expect("row");
    assert_eq!(row.client_name, "Client A");
    assert_eq!(row.module_name, "Module A");
    assert_eq!(row.item_name, "host4.example");
    assert_eq!(row.status, Status::Manual);
    assert_eq!(row.last_error.as_deref(), Some("panel down"));
    assert_eq!(
        rows.iter().find(|r| r.id == ids[1]).expect("row").status,
        Status::Running
    );
}

/// The status SQL (filter and sort) says what `Status::of` says, for every queue state and
/// `manual` flag: the rule is written once in Rust and the SQL is held to it here.
async fn the_status_sql_agrees_with_the_one_status_rule(db: &TestDb) {
    let s = &*db.store;
    let states = [
        OperationState::Waiting,
        OperationState::Running,
        OperationState::Error,
    ];
    let (client, module, items) = world(s, states.len() * 2).await;
    let mut expected: Vec<(i64, Status)> = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let state = states[n / 2];
        let manual = n % 2 == 1;
        let mut f = fields(*item, client, module);
        f.manual = manual;
        let id = s
            .insert_operation(
                &f,
                OperationState::Waiting,
                T0,
                &entry("add", "runningoperation", None),
            )
            .await
            .expect("insert");
        s.force_state(id, state, None, T0).await.expect("force");
        expected.push((id, Status::of(state, manual)));
    }
    for status in Status::ALL {
        let filter = OperationFilter {
            status: Some(status),
            ..OperationFilter::default()
        };
        let mut got: Vec<i64> = s
            .list_operations(&ListQuery {
                filter,
                ..ListQuery::default()
            })
            .await
            .expect("list")
            .iter()
            .map(|r| r.id)
            .collect();
        got.sort_unstable();
        let want: Vec<i64> = expected
            .iter()
            .filter(|(_, st)| *st == status)
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(got, want, "filter by {status:?}");
    }
    let sorted = s
        .list_operations(&ListQuery {
            sort: SortColumn::Status,
            ..ListQuery::default()
        })
        .await
        .expect("sorted");
    for row in &sorted {
        let (_, want) = expected
            .iter()
            .find(|(id, _)| *id == row.id)
            .expect("known");
        assert_eq!(row.status, *want, "row {}", row.id);
    }
    // Sorting by status groups equal statuses together, whatever order the SQL gives them.
    let labels: Vec<Status> = sorted.iter().map(|r| r.status).collect();
    let mut groups = labels.clone();
    groups.dedup();
    let mut distinct = groups.clone();
    distinct.sort_by_key(|st| st.raw());
    distinct.dedup();
    assert_eq!(groups.len(), distinct.len(), "statuses grouped: {labels:?}");
}

/// Three modules and three clients, each named out of id order, two of the clients alike:
/// their ids, in the order made.
async fn modules_and_clients_named_out_of_order(db: &TestDb) -> (Vec<i64>, Vec<i64>) {
    let s = &*db.store;
    let mut modules = Vec::new();
    for name in ["Module C", "Module A", "Module B"] {
        modules.push(
            s.insert_module(&module(name), &entry("add", "processing", None))
                .await
                .expect("module"),
        );
    }
    let mut clients = Vec::new();
    for name in ["Zeta", "Alpha", "Zeta"] {
        clients.push(
            s.insert_client(
                &NewClient {
                    name: name.into(),
                    email: None,
                    created: T0,
                },
                &entry("add", "account", None),
            )
            .await
            .expect("client"),
        );
    }
    (modules, clients)
}

async fn pages_sorted_by_module_or_client_are_the_list_in_name_then_id_order(db: &TestDb) {
    // Three modules and three clients, named out of id order, two of the clients alike; their
    // twelve operations interleaved. Paged three at a time, each sort (module and client, both
    // ways) reads as the whole list ordered by that name, then by id.
    let s = &*db.store;
    let (modules, clients) = modules_and_clients_named_out_of_order(db).await;
    for i in 0..12 {
        let (client, module) = (clients[i % 3], modules[(i / 2) % 3]);
        let item = s
            .insert_item(
                &NewItem {
                    client_id: client,
                    module_id: module,
                    itemtype: "vds".into(),
                    name: format!("host{i}.example"),
                    status: ItemStatus::Ordered,
                    created: T0,
                },
                &entry("add", "item", None),
            )
            .await
            .expect("item");
        s.insert_operation(
            &fields(item, client, module),
            OperationState::Waiting,
            T0,
            &entry("a", "runningoperation", None),
        )
        .await
        .expect("operation");
    }
    for column in [SortColumn::Processingmodule, SortColumn::Client] {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            let mut paged = Vec::new();
            for page in 1..=5 {
                paged.extend(
                    s.list_operations(&ListQuery {
                        sort: column,
                        order,
                        page,
                        page_size: 3,
                        ..ListQuery::default()
                    })
                    .await
                    .expect("page"),
                );
            }
            let key = |r: &OperationRow| match column {
                SortColumn::Client => (r.client_name.clone(), r.id),
                _ => (r.module_name.clone(), r.id),
            };
            let mut want: Vec<(String, i64)> = paged.iter().map(key).collect();
            want.sort();
            if order == SortOrder::Desc {
                want.reverse();
            }
            let got: Vec<(String, i64)> = paged.iter().map(key).collect();
            assert_eq!(got.len(), 12, "{column:?} {order:?}: every row once");
            assert_eq!(got, want, "{column:?} {order:?}");
        }
    }
}

async fn pages_read_by_seeking_are_the_pages_their_numbers_name(db: &TestDb) {
    // Thirteen operations over three modules and three clients (two alike), with ties in
    // every column; paged three at a time. Each next page read by seeking past the last row
    // of the one before, and each previous page by seeking before the first row of the one
    // after, is the page its number names, in every sort both ways; its count runs from the
    // seek on.
    let s = &*db.store;
    let (modules, clients) = modules_and_clients_named_out_of_order(db).await;
    for i in 0..13_i64 {
        let n = i as usize;
        let (client, module) = (clients[n % 3], modules[(n / 2) % 3]);
        let item = s
            .insert_item(
                &NewItem {
                    client_id: client,
                    module_id: module,
                    itemtype: if i % 2 == 0 { "vds" } else { "domain" }.into(),
                    name: format!("host{i}.example"),
                    status: ItemStatus::Ordered,
                    created: T0,
                },
                &entry("add", "item", None),
            )
            .await
            .expect("item");
        let fields = OperationFields {
            intname: [Intname::Open, Intname::Close, Intname::Suspend][n % 3],
            itemtype: if i % 2 == 0 { "vds" } else { "domain" }.into(),
            cdate: Timestamp(T0.0 + (i % 4) * 1000),
            trycount: i % 3,
            manual: i % 5 == 0,
            ..fields(item, client, module)
        };
        let state = if i % 4 == 1 {
            OperationState::Error
        } else {
            OperationState::Waiting
        };
        let id = s
            .insert_operation(&fields, state, T0, &entry("a", "runningoperation", None))
            .await
            .expect("operation");
        // Some run: PostgreSQL's list indexes leave them out, and its walks merge them in.
        if i % 4 == 3 {
            s.force_state(id, OperationState::Running, None, T0)
                .await
                .expect("running");
        }
    }
    let ids = |rows: &[OperationRow]| rows.iter().map(|r| r.id).collect::<Vec<i64>>();
    for column in SortColumn::ALL {
        for order in [SortOrder::Asc, SortOrder::Desc] {
            let query = |page: u32, seek: Option<Seek>| ListQuery {
                sort: column,
                order,
                page,
                page_size: 3,
                seek,
                ..ListQuery::default()
            };
            let mut numbered = Vec::new();
            for page in 1..=5 {
                numbered.push(s.list_operations(&query(page, None)).await.expect("page"));
            }
            // The numbered pages hold every operation once, running or not.
            let mut all: Vec<i64> = numbered.iter().flat_map(|rows| ids(rows)).collect();
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), 13, "{column:?} {order:?}: every operation once");
            // Each page from the one before it (past its last row), then from the one after
            // it (before its first row), with what the count past that seek must be: from the
            // page on, or from the page after it on.
            let after_the_one_before = (2..=5_u32).map(|page| {
                let before = numbered[page as usize - 2].last().expect("a full page");
                let count = 13 - 3 * u64::from(page - 1);
                (page, Seek::at(before, column, true), count)
            });
            let before_the_one_after = (1..=4_u32).map(|page| {
                let after = numbered[page as usize].first().expect("a page after");
                (
                    page,
                    Seek::at(after, column, false),
                    13 - 3 * u64::from(page),
                )
            });
            for (page, seek, count) in after_the_one_before.chain(before_the_one_after) {
                let how = if seek.after { "after" } else { "before" };
                let (rows, counted) = s
                    .page_operations(&query(page, Some(seek)), 100)
                    .await
                    .expect("page by seek");
                assert_eq!(
                    ids(&rows),
                    ids(&numbered[page as usize - 1]),
                    "{column:?} {order:?}: page {page} read {how} a seek"
                );
                assert_eq!(counted, count, "{column:?} {order:?}: page {page} {how}");
            }
        }
    }
}

async fn every_column_sorts_both_ways_and_pages(db: &TestDb) {
    let ids = five_operations(db).await;
    let s = &*db.store;
    for column in SortColumn::ALL {
        let asc = s
            .list_operations(&ListQuery {
                sort: column,
                order: SortOrder::Asc,
                ..ListQuery::default()
            })
            .await
            .expect("asc");
        let desc = s
            .list_operations(&ListQuery {
                sort: column,
                order: SortOrder::Desc,
                ..ListQuery::default()
            })
            .await
            .expect("desc");
        assert_eq!(asc.len(), 5, "{column:?}");
        let mut reversed: Vec<i64> = desc.iter().map(|r| r.id).collect();
        reversed.reverse();
        assert_eq!(
            asc.iter().map(|r| r.id).collect::<Vec<_>>(),
            reversed,
            "{column:?} desc is asc reversed"
        );
    }
    let by_trycount = s
        .list_operations(&ListQuery {
            sort: SortColumn::Trycount,
            order: SortOrder::Desc,
            ..ListQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(
        by_trycount.iter().map(|r| r.id).collect::<Vec<_>>(),
        ids.iter().rev().copied().collect::<Vec<_>>()
    );
    let page2 = s
        .list_operations(&ListQuery {
            page: 2,
            page_size: 2,
            ..ListQuery::default()
        })
        .await
        .expect("page");
    assert_eq!(
        page2.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![ids[2], ids[3]]
    );
    let page9 = s
        .list_operations(&ListQuery {
            page: 9,
            page_size: 2,
            ..ListQuery::default()
        })
        .await
        .expect("page");
    assert!(page9.is_empty());
}

async fn counts_stop_at_their_bound(db: &TestDb) {
    five_operations(db).await;
    let s = &*db.store;
    assert_eq!(
        s.count_operations(&OperationFilter::default(), 100)
            .await
            .expect("count"),
        5
    );
    assert_eq!(
        s.count_operations(&OperationFilter::default(), 3)
            .await
            .expect("count"),
        3
    );
    let by_text = OperationFilter {
        error_text: Some("PANEL".into()),
        ..OperationFilter::default()
    };
    let query = ListQuery {
        page_size: 2,
        filter: by_text,
        ..ListQuery::default()
    };
    let (rows, total) = s.page_operations(&query, 10).await.expect("page");
    assert_eq!(
        (rows.len(), total),
        (1, 1),
        "the page and its count come together, text filter included"
    );
    let (rows, total) = s
        .page_operations(
            &ListQuery {
                page_size: 2,
                ..ListQuery::default()
            },
            4,
        )
        .await
        .expect("page");
    assert_eq!((rows.len(), total), (2, 4), "the count stops at its limit");
    assert_eq!(
        s.count_operations(
            &OperationFilter {
                status: Some(Status::Error),
                ..OperationFilter::default()
            },
            100
        )
        .await
        .expect("count"),
        1
    );
}

async fn start_stop_and_delete_respect_the_state(db: &TestDb) {
    let ids = five_operations(db).await;
    let s = &*db.store;
    let later = Timestamp(T0.0 + 1000);
    assert!(s
        .request_start(
            ids[0],
            later,
            &entry("start", "runningoperation", Some(ids[0]))
        )
        .await
        .expect("start"));
    let op = s.get_operation(ids[0]).await.expect("get").expect("exists");
    assert!(op.run_requested);
    assert_eq!(op.next_run_at, later);
    assert!(!s
        .request_start(
            ids[1],
            later,
            &entry("start", "runningoperation", Some(ids[1]))
        )
        .await
        .expect("start running"));
    assert!(s
        .request_stop(
            ids[1],
            later,
            &entry("stop", "runningoperation", Some(ids[1]))
        )
        .await
        .expect("stop running"));
    let stopped = s.get_operation(ids[1]).await.expect("get").expect("exists");
    assert!(stopped.fields.manual && stopped.stop_requested);
    assert!(s
        .request_stop(
            ids[0],
            later,
            &entry("stop", "runningoperation", Some(ids[0]))
        )
        .await
        .expect("stop idle"));
    let idle = s.get_operation(ids[0]).await.expect("get").expect("exists");
    assert!(idle.fields.manual && !idle.stop_requested && !idle.run_requested);
    assert!(!s
        .delete_operation(
            ids[1],
            later,
            &entry("delete", "runningoperation", Some(ids[1]))
        )
        .await
        .expect("delete running"));
    assert!(s
        .delete_operation(
            ids[2],
            later,
            &entry("delete", "runningoperation", Some(ids[2]))
        )
        .await
        .expect("delete"));
    assert_eq!(
        s.get_operation(ids[2])
            .await
            .expect("get")
            .expect("kept")
            .state,
        OperationState::Deleted
    );
    assert!(!ids_of(s, OperationFilter::default())
        .await
        .contains(&ids[2]));
    assert!(!s
        .request_stop(
            ids[2],
            later,
            &entry("stop", "runningoperation", Some(ids[2]))
        )
        .await
        .expect("stop deleted"));
    assert_eq!(
        s.list_journal("runningoperation", ids[0])
            .await
            .expect("journal")
            .len(),
        3,
        "insert, start, stop"
    );
}

async fn attempts_keep_their_logs_in_order(db: &TestDb) {
    let ids = five_operations(db).await;
    let s = &*db.store;
    let op = s.get_operation(ids[2]).await.expect("get").expect("exists");
    let mut attempt_ids = Vec::new();
    for (n, outcome) in [
        AttemptOutcome::Error,
        AttemptOutcome::Interrupted,
        AttemptOutcome::Ok,
    ]
    .into_iter()
    .enumerate()
    {
        let a = NewAttempt {
            operation_id: ids[2],
            item_id: op.fields.item_id,
            token: format!("t{n}"),
            started: Timestamp(T0.0 + n as i64),
            finished: Some(Timestamp(T0.0 + n as i64 + 10)),
            outcome,
            error_type: (outcome == AttemptOutcome::Error).then(|| "client".into()),
            error_message: (outcome == AttemptOutcome::Error).then(|| "refused".into()),
            log: format!("log {n}\npassword=***"),
            task_id: None,
        };
        attempt_ids.push(s.insert_attempt(&a).await.expect("attempt"));
    }
    let rows = s.list_attempts(ids[2]).await.expect("list");
    assert_eq!(rows.iter().map(|r| r.id).collect::<Vec<_>>(), attempt_ids);
    assert_eq!(rows[0].error_message.as_deref(), Some("refused"));
    assert_eq!(rows[1].outcome, AttemptOutcome::Interrupted);
    let (row, log) = s
        .get_attempt(attempt_ids[2])
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (row.outcome, log.as_str()),
        (AttemptOutcome::Ok, "log 2\npassword=***")
    );
    assert_eq!(s.get_attempt(999_999).await.expect("missing"), None);
    assert!(s.list_attempts(ids[0]).await.expect("none").is_empty());
}

async fn an_operation_gets_one_task_only(db: &TestDb) {
    let ids = five_operations(db).await;
    let s = &*db.store;
    let task = s
        .create_task(
            ids[3],
            TaskKind::Delete,
            "why",
            T0,
            &entry("taskcreate", "runningoperation", Some(ids[3])),
        )
        .await
        .expect("create")
        .expect("created");
    assert_eq!(
        s.create_task(
            ids[3],
            TaskKind::Delete,
            "again",
            T0,
            &entry("taskcreate", "runningoperation", Some(ids[3]))
        )
        .await
        .expect("again"),
        None
    );
    let record = s.get_task(task).await.expect("get").expect("exists");
    assert_eq!(
        (
            record.operation_id,
            record.kind.as_str(),
            record.status.as_str()
        ),
        (ids[3], "delete", "open")
    );
    assert_eq!(
        s.get_operation(ids[3])
            .await
            .expect("get")
            .expect("exists")
            .task_id,
        Some(task)
    );
    assert_eq!(
        ids_of(
            s,
            OperationFilter {
                has_task: Some(true),
                ..OperationFilter::default()
            }
        )
        .await,
        vec![ids[3]]
    );
    assert_eq!(
        s.create_task(
            999_999,
            TaskKind::Setup,
            "",
            T0,
            &entry("t", "runningoperation", None)
        )
        .await
        .expect("missing"),
        None
    );
}

fn session(hash: &str, user_id: i64, parent: Option<&str>, seen: i64) -> SessionRecord {
    SessionRecord {
        id_hash: hash.into(),
        user_id,
        user_name: "boss".into(),
        level: if parent.is_some() {
            Level::User
        } else {
            Level::Admin
        },
        client_id: None,
        parent_hash: parent.map(str::to_owned),
        lang: Lang::Ru,
        created: Timestamp(seen),
        last_seen: Timestamp(seen),
        expires: Timestamp(seen + 12 * 3_600_000),
    }
}

async fn users_and_sessions_expire_and_cascade(db: &TestDb) {
    let s = &*db.store;
    let user = UserRecord {
        id: 0,
        name: "boss".into(),
        password_hash: "h".into(),
        level: Level::Admin,
        client_id: None,
        lang: None,
    };
    let uid = s
        .insert_user(&user, T0, &entry("add", "user", None))
        .await
        .expect("user");
    assert!(s
        .insert_user(&user, T0, &entry("add", "user", None))
        .await
        .expect_err("taken")
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation()));
    assert_eq!(
        s.find_user("boss").await.expect("find").expect("exists").id,
        uid
    );
    assert_eq!(s.find_user("nobody").await.expect("find"), None);
    assert!(s
        .set_password(uid, "h2", &entry("pw", "user", Some(uid)))
        .await
        .expect("pw"));
    assert_eq!(
        s.find_user("boss")
            .await
            .expect("find")
            .expect("exists")
            .password_hash,
        "h2"
    );
    s.set_user_lang(uid, Lang::Ru).await.expect("lang");
    assert_eq!(
        s.find_user("boss")
            .await
            .expect("find")
            .expect("exists")
            .lang,
        Some(Lang::Ru),
        "a user's chosen language is kept"
    );
    let client_user = UserRecord {
        id: 0,
        name: "c".into(),
        password_hash: "h".into(),
        level: Level::User,
        client_id: None,
        lang: None,
    };
    assert_eq!(
        violation(
            s.insert_user(&client_user, T0, &entry("add", "user", None))
                .await
        ),
        Some(ErrorKind::CheckViolation),
        "a user-level user needs a client"
    );

    s.insert_session(&session("a", uid, None, T0.0))
        .await
        .expect("a");
    s.insert_session(&session("b", uid, Some("a"), T0.0))
        .await
        .expect("b");
    s.insert_session(&session("old", uid, None, T0.0 - 10_000))
        .await
        .expect("old");
    let later = Timestamp(T0.0 + 5);
    let touched = s
        .touch_session("a", later, Timestamp(T0.0 - 1))
        .await
        .expect("touch")
        .expect("alive");
    assert_eq!(
        (touched.last_seen, touched.lang, touched.user_name.as_str()),
        (later, Lang::Ru, "boss")
    );
    assert_eq!(
        s.touch_session("old", later, Timestamp(T0.0 - 1))
            .await
            .expect("touch old"),
        None
    );
    assert_eq!(
        s.get_session("b")
            .await
            .expect("get")
            .expect("exists")
            .parent_hash
            .as_deref(),
        Some("a")
    );
    assert_eq!(
        s.delete_idle_sessions(Timestamp(T0.0 - 1))
            .await
            .expect("expire"),
        1
    );
    assert!(s.delete_session("a").await.expect("delete"));
    assert_eq!(
        s.get_session("b").await.expect("child"),
        None,
        "an su session ends with its parent"
    );
    assert!(!s.delete_session("a").await.expect("again"));
}

async fn saved_filters_are_per_user_and_overwritten(db: &TestDb) {
    let s = &*db.store;
    let mk = |name: &str| UserRecord {
        id: 0,
        name: name.into(),
        password_hash: "h".into(),
        level: Level::Admin,
        client_id: None,
        lang: None,
    };
    let u1 = s
        .insert_user(&mk("u1"), T0, &entry("a", "user", None))
        .await
        .expect("u1");
    let u2 = s
        .insert_user(&mk("u2"), T0, &entry("a", "user", None))
        .await
        .expect("u2");
    assert_eq!(
        s.load_filter(u1, "runningoperation").await.expect("load"),
        None
    );
    s.save_filter(u1, "runningoperation", "{\"a\":1}", T0)
        .await
        .expect("save");
    s.save_filter(u1, "runningoperation", "{\"a\":2}", T0)
        .await
        .expect("overwrite");
    s.save_filter(u2, "runningoperation", "{}", T0)
        .await
        .expect("other");
    assert_eq!(
        s.load_filter(u1, "runningoperation")
            .await
            .expect("load")
            .as_deref(),
        Some("{\"a\":2}")
    );
    assert_eq!(
        s.load_filter(u2, "runningoperation")
            .await
            .expect("load")
            .as_deref(),
        Some("{}")
    );
    assert_eq!(s.load_filter(u1, "task").await.expect("load"), None);
}

async fn a_forced_running_operation_holds_a_lease(db: &TestDb) {
    let ids = five_operations(db).await;
    let op = db
        .store
        .get_operation(ids[1])
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(op.state, OperationState::Running);
    db.store
        .force_state(ids[1], OperationState::Waiting, None, T0)
        .await
        .expect("back");
    assert_eq!(
        db.store
            .get_operation(ids[1])
            .await
            .expect("get")
            .expect("exists")
            .state,
        OperationState::Waiting
    );
}

async fn an_error_text_matching_many_distinct_messages_still_filters(db: &TestDb) {
    let s = &*db.store;
    let (client, module, items) = world(s, 210).await;
    let ops: Vec<(OperationFields, OperationState, Option<String>)> = items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            let message = if n < 205 {
                format!("Node {n} is down")
            } else {
                "Quota exceeded".to_owned()
            };
            (
                fields(*item, client, module),
                OperationState::Error,
                Some(message),
            )
        })
        .collect();
    db.fixtures
        .bulk_insert_operations(&ops)
        .await
        .expect("bulk");
    let by_text = |text: &str| OperationFilter {
        error_text: Some(text.into()),
        ..OperationFilter::default()
    };
    // 205 distinct messages: more than are listed by id, so the text is matched in SQL.
    assert_eq!(
        s.count_operations(&by_text("IS DOWN"), 10_000)
            .await
            .expect("count"),
        205
    );
    let page = ListQuery {
        filter: by_text("is down"),
        page_size: 1000,
        ..ListQuery::default()
    };
    assert_eq!(s.list_operations(&page).await.expect("list").len(), 205);
    assert_eq!(ids_of(s, by_text("node 7 is")).await.len(), 1);
    assert_eq!(ids_of(s, by_text("quota")).await.len(), 5);
}

async fn journal_rows_can_stand_alone(db: &TestDb) {
    db.store
        .insert_journal(&entry("runningoperation.su", "runningoperation", Some(7)))
        .await
        .expect("insert");
    let rows = db
        .store
        .list_journal("runningoperation", 7)
        .await
        .expect("list");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].action.as_str(), rows[0].user_name.as_str()),
        ("runningoperation.su", "tester")
    );
}

fn claim_at(owner: &str, limit: u32, now: i64, lease_ms: i64) -> ClaimRequest {
    ClaimRequest {
        owner: owner.into(),
        limit,
        now: Timestamp(now),
        lease_until: Timestamp(now + lease_ms),
    }
}

/// `n` waiting operations due at T0, one per item of a fresh world; returns (module, ops).
async fn due_operations(store: &dyn Store, n: usize) -> (i64, Vec<i64>) {
    let (client, module, items) = world(store, n).await;
    let mut ops = Vec::new();
    for item in items {
        ops.push(
            store
                .insert_operation(
                    &fields(item, client, module),
                    OperationState::Waiting,
                    T0,
                    &entry("add", "runningoperation", None),
                )
                .await
                .expect("operation"),
        );
    }
    (module, ops)
}

fn finish(claim: &Claim, at: i64, next: AfterAttempt) -> Finish {
    let failed = !matches!(next, AfterAttempt::Done { .. });
    Finish {
        operation_id: claim.operation_id,
        token: claim.token.clone(),
        at: Timestamp(at),
        outcome: if failed {
            AttemptOutcome::Error
        } else {
            AttemptOutcome::Ok
        },
        error_type: failed.then(|| "quota".to_owned()),
        error_message: failed.then(|| "Not enough disk space".to_owned()),
        log: "module output".into(),
        next,
        failure: failed.then(|| fingerprint(claim.module_id, "quota", "Not enough disk space")),
    }
}

/// The fingerprint a rescue gives an interrupted attempt of module `module_id`.
fn interrupted(module_id: i64) -> FailureMark {
    fingerprint(module_id, "interrupted", "interrupted")
}

async fn a_claim_takes_due_operations_up_to_the_module_cap(db: &TestDb) {
    let s = &*db.store;
    let (module, ops) = due_operations(s, 5).await;
    let claims = s
        .claim_operations(&claim_at("node-a", 10, T0.0, 30_000))
        .await
        .expect("claim");
    assert_eq!(claims.len(), 2, "the module runs at most 2 at once");
    assert_eq!(s.running_count(module).await.unwrap(), 2);
    assert_ne!(claims[0].token, claims[1].token);
    for claim in &claims {
        assert!(ops.contains(&claim.operation_id));
        assert_eq!(claim.trycount, 1);
        assert_eq!(claim.client_name, "Client A");
        let op = s.get_operation(claim.operation_id).await.unwrap().unwrap();
        assert_eq!(op.state, OperationState::Running);
        let attempts = s.list_attempts(claim.operation_id).await.unwrap();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].outcome, AttemptOutcome::Running);
    }
    let more = s
        .claim_operations(&claim_at("node-b", 10, T0.0, 30_000))
        .await
        .expect("claim");
    assert!(more.is_empty(), "the cap is reached: {more:?}");
}

async fn an_attempt_row_is_written_once_when_its_run_ends_with_the_start_its_claim_had(
    db: &TestDb,
) {
    let s = &*db.store;
    let (_, ops) = due_operations(s, 2).await;
    let claims = s
        .claim_operations(&claim_at("node-a", 2, T0.0, 30_000))
        .await
        .expect("claim");
    assert_eq!(claims.len(), 2);
    for claim in &claims {
        // Under way: the history shows the run from the operation, with no row and no log.
        let attempts = s.list_attempts(claim.operation_id).await.unwrap();
        assert_eq!(
            attempts,
            vec![AttemptRow::running(claim.operation_id, claim.item_id, T0)]
        );
        assert!(!attempts[0].has_log());
    }
    assert!(s
        .get_attempt(AttemptRow::UNDER_WAY)
        .await
        .unwrap()
        .is_none());
    let done = finish(
        &claims[0],
        T0.0 + 1_500,
        AfterAttempt::Done { item_status: None },
    );
    let failed = finish(
        &claims[1],
        T0.0 + 2_500,
        AfterAttempt::Retry {
            next_run_at: Timestamp(T0.0 + 60_000),
            manual: false,
            task: None,
        },
    );
    let applied = s
        .finish_attempts(&[done, failed], &entry("engine", "runningoperation", None))
        .await
        .unwrap();
    assert_eq!(applied, vec![true, true]);
    for (claim, finished, outcome, error) in [
        (&claims[0], T0.0 + 1_500, AttemptOutcome::Ok, None),
        (
            &claims[1],
            T0.0 + 2_500,
            AttemptOutcome::Error,
            Some("Not enough disk space"),
        ),
    ] {
        let attempts = s.list_attempts(claim.operation_id).await.unwrap();
        assert_eq!(attempts.len(), 1, "{attempts:?}");
        let a = &attempts[0];
        assert!(a.has_log());
        assert_eq!(
            (
                a.createdate,
                a.finished,
                a.outcome,
                a.error_message.as_deref()
            ),
            (T0, Some(Timestamp(finished)), outcome, error)
        );
        let (_, log) = s.get_attempt(a.id).await.unwrap().expect("stored");
        assert_eq!(log, "module output");
    }
    assert!(ops.contains(&claims[0].operation_id));
}

async fn a_claim_skips_manual_future_and_switched_off_work(db: &TestDb) {
    let s = &*db.store;
    let (module, ops) = due_operations(s, 3).await;
    let mut m = s.get_module(module).await.unwrap().unwrap();
    m.max_running = 10;
    s.update_module(&m, &entry("edit", "processing", Some(module)))
        .await
        .unwrap();
    // ops[0]: manual; ops[1]: manual but asked to start; ops[2]: due tomorrow.
    for (id, manual) in [(ops[0], true), (ops[1], true), (ops[2], false)] {
        let mut op = s.get_operation(id).await.unwrap().unwrap();
        op.fields.manual = manual;
        s.update_operation(id, &op.fields, &entry("edit", "runningoperation", Some(id)))
            .await
            .unwrap();
    }
    s.request_start(
        ops[1],
        T0,
        &entry("start", "runningoperation", Some(ops[1])),
    )
    .await
    .unwrap();
    let claims = s
        .claim_operations(&claim_at("node-a", 10, T0.0 - 1_000, 30_000))
        .await
        .unwrap();
    assert!(claims.is_empty(), "nothing is due before T0");
    m.enabled = false;
    s.update_module(&m, &entry("edit", "processing", Some(module)))
        .await
        .unwrap();
    let claims = s
        .claim_operations(&claim_at("node-a", 10, T0.0, 30_000))
        .await
        .unwrap();
    assert!(claims.is_empty(), "a switched-off module runs nothing");
    m.enabled = true;
    s.update_module(&m, &entry("edit", "processing", Some(module)))
        .await
        .unwrap();
    let claims = s
        .claim_operations(&claim_at("node-a", 10, T0.0, 30_000))
        .await
        .unwrap();
    let mut claimed: Vec<i64> = claims.iter().map(|c| c.operation_id).collect();
    claimed.sort();
    assert_eq!(
        claimed,
        vec![ops[1], ops[2]],
        "manual only when asked to start"
    );
    let started = claims.iter().find(|c| c.operation_id == ops[1]).unwrap();
    assert!(started.manual, "a manual start keeps manual");
}

async fn a_stale_workers_finish_changes_nothing(db: &TestDb) {
    let s = &*db.store;
    let (_, ops) = due_operations(s, 1).await;
    let first = s
        .claim_operations(&claim_at("node-a", 1, T0.0, 1_000))
        .await
        .unwrap()
        .remove(0);
    // node-a stops renewing; its lease runs out and the operation is rescued and re-claimed.
    assert!(s
        .renew_leases("node-a", Timestamp(T0.0 + 2_000), Timestamp(T0.0 + 5_000))
        .await
        .unwrap()
        .is_empty());
    // The node that holds the run itself keeps it; any other rescues it.
    assert!(s
        .rescue_expired(
            Timestamp(T0.0 + 2_000),
            "interrupted",
            std::slice::from_ref(&first.token),
            100,
            &interrupted,
        )
        .await
        .unwrap()
        .ids
        .is_empty());
    let rescued = s
        .rescue_expired(
            Timestamp(T0.0 + 2_000),
            "interrupted",
            &[],
            100,
            &interrupted,
        )
        .await
        .unwrap();
    assert_eq!(rescued.ids, vec![ops[0]]);
    let attempts = s.list_attempts(ops[0]).await.unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|a| (a.outcome, a.createdate, a.finished))
            .collect::<Vec<_>>(),
        vec![(
            AttemptOutcome::Interrupted,
            T0,
            Some(Timestamp(T0.0 + 2_000))
        )],
        "the rescue writes the run's row, from its claim's start"
    );
    let second = s
        .claim_operations(&claim_at("node-b", 1, T0.0 + 2_000, 30_000))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(second.trycount, 2);
    let journal = entry("engine", "runningoperation", None);
    let applied = s
        .finish_attempts(
            &[finish(
                &first,
                T0.0 + 3_000,
                AfterAttempt::Done {
                    item_status: Some(ItemStatus::Active),
                },
            )],
            &journal,
        )
        .await
        .unwrap();
    assert_eq!(applied, vec![false]);
    let op = s.get_operation(ops[0]).await.unwrap().unwrap();
    assert_eq!(op.state, OperationState::Running, "still node-b's");
    let applied = s
        .finish_attempts(
            &[finish(
                &second,
                T0.0 + 4_000,
                AfterAttempt::Done {
                    item_status: Some(ItemStatus::Active),
                },
            )],
            &journal,
        )
        .await
        .unwrap();
    assert_eq!(applied, vec![true]);
    let op = s.get_operation(ops[0]).await.unwrap().unwrap();
    assert_eq!(op.state, OperationState::Done);
    let item = s.get_item(op.fields.item_id).await.unwrap().unwrap();
    assert_eq!(item.status, ItemStatus::Active);
    let outcomes: Vec<AttemptOutcome> = s
        .list_attempts(ops[0])
        .await
        .unwrap()
        .iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(
        outcomes,
        vec![AttemptOutcome::Interrupted, AttemptOutcome::Ok]
    );
}

async fn a_large_rescue_goes_in_batches_past_the_callers_own_runs(db: &TestDb) {
    let s = &*db.store;
    let (module, ops) = due_operations(s, 7).await;
    let mut m = s.get_module(module).await.unwrap().unwrap();
    m.max_running = 10;
    s.update_module(&m, &entry("edit", "processing", Some(module)))
        .await
        .unwrap();
    let claims = s
        .claim_operations(&claim_at("node-a", 10, T0.0, 1_000))
        .await
        .unwrap();
    assert_eq!(claims.len(), 7);
    // The caller still writes the end of ops[1]: every batch reads past it.
    let own = claims
        .iter()
        .find(|c| c.operation_id == ops[1])
        .unwrap()
        .token
        .clone();
    let at = Timestamp(T0.0 + 2_000);
    let keep = std::slice::from_ref(&own);
    let first = s
        .rescue_expired(at, "interrupted", keep, 3, &interrupted)
        .await
        .unwrap();
    assert_eq!(first.ids, vec![ops[0], ops[2], ops[3]]);
    assert!(first.more, "four expired runs are left");
    let running = |id: i64| async move {
        s.get_operation(id).await.unwrap().unwrap().state == OperationState::Running
    };
    assert!(!running(ops[3]).await, "a batch is committed on its own");
    assert!(running(ops[4]).await, "the next batch is not begun");
    // The caller also holds two live runs, not among the expired: every expired row is read,
    // and what is past the limit is still said to remain.
    let kept = [own.clone(), "live-1".to_owned(), "live-2".to_owned()];
    let second = s
        .rescue_expired(at, "interrupted", &kept, 2, &interrupted)
        .await
        .unwrap();
    assert_eq!(second.ids, vec![ops[4], ops[5]]);
    assert!(second.more, "ops[6] is past the limit");
    let third = s
        .rescue_expired(at, "interrupted", &kept, 2, &interrupted)
        .await
        .unwrap();
    assert_eq!(third.ids, vec![ops[6]]);
    assert!(!third.more, "every expired row was read");
    let last = s
        .rescue_expired(at, "interrupted", keep, 3, &interrupted)
        .await
        .unwrap();
    assert_eq!(last, RescuedBatch::default(), "only the kept run is left");
    assert!(running(ops[1]).await, "the caller's own run is left alone");
    for id in [ops[0], ops[4], ops[6]] {
        let attempts = s.list_attempts(id).await.unwrap();
        assert_eq!(attempts[0].outcome, AttemptOutcome::Interrupted);
    }
}

async fn renewal_keeps_live_leases_and_reports_stop_requests(db: &TestDb) {
    let s = &*db.store;
    let (_, ops) = due_operations(s, 2).await;
    let claims = s
        .claim_operations(&claim_at("node-a", 2, T0.0, 10_000))
        .await
        .unwrap();
    assert_eq!(claims.len(), 2);
    s.request_stop(ops[0], T0, &entry("stop", "runningoperation", Some(ops[0])))
        .await
        .unwrap();
    let mut held = s
        .renew_leases("node-a", Timestamp(T0.0 + 5_000), Timestamp(T0.0 + 15_000))
        .await
        .unwrap();
    held.sort_by(|a, b| a.token.cmp(&b.token));
    assert_eq!(held.len(), 2);
    let stopped: Vec<bool> = claims
        .iter()
        .map(|c| {
            held.iter()
                .find(|h| h.token == c.token)
                .unwrap()
                .stop_requested
        })
        .collect();
    let expected: Vec<bool> = claims.iter().map(|c| c.operation_id == ops[0]).collect();
    assert_eq!(stopped, expected);
    assert!(
        s.renew_leases("node-b", Timestamp(T0.0 + 5_000), Timestamp(T0.0 + 15_000))
            .await
            .unwrap()
            .is_empty(),
        "another node holds nothing"
    );
    // Renewed to T0+15s: not expired at T0+12s.
    assert!(s
        .rescue_expired(
            Timestamp(T0.0 + 12_000),
            "interrupted",
            &[],
            100,
            &interrupted
        )
        .await
        .unwrap()
        .ids
        .is_empty());
}

async fn a_failure_schedules_a_retry_and_the_last_one_opens_one_task(db: &TestDb) {
    let s = &*db.store;
    let (_, ops) = due_operations(s, 1).await;
    let journal = entry("engine", "runningoperation", None);
    let claim = s
        .claim_operations(&claim_at("n", 1, T0.0, 10_000))
        .await
        .unwrap()
        .remove(0);
    let retry = AfterAttempt::Retry {
        next_run_at: Timestamp(T0.0 + 60_000),
        manual: false,
        task: None,
    };
    assert_eq!(
        s.finish_attempts(&[finish(&claim, T0.0 + 1, retry)], &journal)
            .await
            .unwrap(),
        vec![true]
    );
    let op = s.get_operation(ops[0]).await.unwrap().unwrap();
    assert_eq!(op.state, OperationState::Error);
    assert_eq!(op.next_run_at, Timestamp(T0.0 + 60_000));
    assert_eq!(op.last_error.as_deref(), Some("Not enough disk space"));
    let filtered = ids_of(
        s,
        OperationFilter {
            error_text: Some("disk SPACE".into()),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(filtered, vec![ops[0]]);
    assert!(s
        .claim_operations(&claim_at("n", 1, T0.0 + 59_999, 10_000))
        .await
        .unwrap()
        .is_empty());
    for round in 0..2 {
        let at = T0.0 + 60_000 + round;
        let claim = s
            .claim_operations(&claim_at("n", 1, at, 10_000))
            .await
            .unwrap()
            .remove(0);
        let last = AfterAttempt::Retry {
            next_run_at: Timestamp(at),
            manual: true,
            task: Some((TaskKind::Setup, "tries used up".into())),
        };
        assert_eq!(
            s.finish_attempts(&[finish(&claim, at, last)], &journal)
                .await
                .unwrap(),
            vec![true]
        );
        let op = s.get_operation(ops[0]).await.unwrap().unwrap();
        assert!(op.fields.manual);
        let task = s
            .get_task(op.task_id.expect("a task"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(task.comment, "tries used up");
        if round == 0 {
            assert!(
                s.claim_operations(&claim_at("n", 1, at + 1, 10_000))
                    .await
                    .unwrap()
                    .is_empty(),
                "manual now"
            );
            s.request_start(
                ops[0],
                Timestamp(at),
                &entry("start", "runningoperation", Some(ops[0])),
            )
            .await
            .unwrap();
        }
    }
    let attempts = s.list_attempts(ops[0]).await.unwrap();
    assert_eq!(attempts.len(), 3);
    let with_task: Vec<Option<i64>> = attempts.iter().map(|a| a.task_id).collect();
    assert!(
        with_task[1].is_some() && with_task[2].is_none(),
        "one task only: {with_task:?}"
    );
}

async fn a_session_changes_language_with_its_su_sessions(db: &TestDb) {
    let services = db.services();
    let admin = Actor::command_line();
    services
        .add_user(&admin, "polyglot", "long-password", Level::Admin, None)
        .await
        .expect("user");
    let (token, _) = services
        .login("polyglot", "long-password", Lang::En, None)
        .await
        .expect("login");
    let actor = services.authenticate(&token).await.expect("session");
    services
        .change_lang(&actor, Lang::Ru)
        .await
        .expect("switch");
    let record = db.store.get_session(&token.hash()).await.unwrap().unwrap();
    assert_eq!(record.lang, Lang::Ru);
    assert_eq!(services.authenticate(&token).await.unwrap().lang, Lang::Ru);
}

async fn concurrent_claims_never_take_one_operation_twice(db: &TestDb) {
    let s = db.store.clone();
    let (module, _) = due_operations(&*s, 40).await;
    let mut m = s.get_module(module).await.unwrap().unwrap();
    m.max_running = 30;
    s.update_module(&m, &entry("edit", "processing", Some(module)))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for n in 0..4 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut all = Vec::new();
            for _ in 0..5 {
                all.extend(
                    s.claim_operations(&claim_at(&format!("node-{n}"), 3, T0.0, 10_000))
                        .await
                        .expect("claim"),
                );
            }
            all
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.extend(task.await.unwrap().into_iter().map(|c| c.operation_id));
    }
    let claimed = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), claimed, "an operation was claimed twice");
    assert_eq!(claimed, 30, "the cap of 30 is filled and not passed");
    assert_eq!(s.running_count(module).await.unwrap(), 30);
}

async fn a_backup_copies_sqlite_and_sends_postgres_to_pg_dump(db: &TestDb) {
    let s = db.store.as_ref();
    world(s, 3).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("copy.db");
    let result = s.backup(copy.to_str().expect("utf-8 path")).await;
    if s.backend() == "sqlite" {
        result.expect("a copy");
        let copied = app::store::connect(&format!("sqlite://{}", copy.display()))
            .await
            .expect("the copy opens");
        assert_eq!(copied.list_clients().await.expect("clients").len(), 1);
        assert_eq!(copied.list_items(None).await.expect("items").len(), 3);
        let again = s.backup(copy.to_str().expect("utf-8 path")).await;
        let Err(StoreError::Database(refused)) = again else {
            panic!("SQLite writes over no backup: {again:?}");
        };
        assert!(
            refused.message().contains("output file already exists"),
            "{refused}"
        );
    } else {
        let Err(StoreError::Configuration(why)) = result else {
            panic!("PostgreSQL is backed up with pg_dump, not by billops: {result:?}");
        };
        assert!(why.to_string().contains("pg_dump"), "{why}");
        assert!(!copy.exists());
    }
}

/// The database's counts of current operations (zero counts left out), by module and status.
async fn kept_counts(s: &dyn Store) -> Vec<(i64, Status, i64)> {
    s.operation_counts()
        .await
        .expect("counts")
        .into_iter()
        .filter(|c| c.count != 0)
        .map(|c| (c.module_id, c.status, c.count))
        .collect()
}

/// The same, counted row by row through the list's filters.
async fn counted_rows(s: &dyn Store, module: i64) -> Vec<(i64, Status, i64)> {
    let mut counted = Vec::new();
    for status in Status::ALL {
        let filter = OperationFilter {
            processingmodule: Some(module),
            status: Some(status),
            ..OperationFilter::default()
        };
        let n = s.count_operations(&filter, 1_000).await.expect("count");
        if n > 0 {
            counted.push((module, status, n as i64));
        }
    }
    counted.sort_by_key(|&(m, st, _)| (m, st.raw()));
    counted
}

async fn the_operation_counts_agree_with_a_count_of_the_rows(db: &TestDb) {
    let s = &*db.store;
    let (module, ops) = due_operations(s, 8).await;
    assert_eq!(kept_counts(s).await, vec![(module, Status::Waiting, 8)]);
    // Two run; one ends, the other fails and waits for a restart.
    let claims = s
        .claim_operations(&claim_at("node-a", 10, T0.0, 30_000))
        .await
        .expect("claim");
    assert_eq!(claims.len(), 2);
    assert_eq!(kept_counts(s).await, counted_rows(s, module).await);
    let retry = AfterAttempt::Retry {
        next_run_at: Timestamp(T0.0 + 60_000),
        manual: false,
        task: None,
    };
    s.finish_attempts(
        &[
            finish(
                &claims[0],
                T0.0 + 1_000,
                AfterAttempt::Done { item_status: None },
            ),
            finish(&claims[1], T0.0 + 1_000, retry),
        ],
        &entry("finish", "runningoperation", None),
    )
    .await
    .expect("finish");
    // One turns manual, one is deleted, one is forced into each state.
    let mut op = s.get_operation(ops[5]).await.unwrap().unwrap();
    op.fields.manual = true;
    s.update_operation(
        ops[5],
        &op.fields,
        &entry("edit", "runningoperation", Some(ops[5])),
    )
    .await
    .unwrap();
    assert!(s
        .delete_operation(
            ops[6],
            T0,
            &entry("delete", "runningoperation", Some(ops[6]))
        )
        .await
        .unwrap());
    s.force_state(ops[7], OperationState::Error, None, T0)
        .await
        .expect("force");
    let counted = counted_rows(s, module).await;
    assert_eq!(
        counted.iter().map(|c| c.2).sum::<i64>(),
        6,
        "eight, less the one done and the one deleted: {counted:?}"
    );
    assert_eq!(kept_counts(s).await, counted);
    // An operation moved to another module is counted there.
    let other = s
        .insert_module(&self::module("Module B"), &entry("add", "processing", None))
        .await
        .expect("module");
    let mut op = s.get_operation(ops[7]).await.unwrap().unwrap();
    op.fields.module_id = other;
    s.update_operation(
        ops[7],
        &op.fields,
        &entry("edit", "runningoperation", Some(ops[7])),
    )
    .await
    .unwrap();
    let mut counted = counted_rows(s, module).await;
    counted.extend(counted_rows(s, other).await);
    assert_eq!(
        counted.last(),
        Some(&(other, Status::Error, 1)),
        "{counted:?}"
    );
    assert_eq!(kept_counts(s).await, counted);
    // Folding the deltas (PostgreSQL) changes no count, and leaves nothing to fold.
    s.compact_counts().await.expect("compact");
    assert_eq!(kept_counts(s).await, counted);
    assert_eq!(s.compact_counts().await.expect("again"), 0);
    let names: Vec<String> = s
        .operation_counts()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.module_name)
        .collect();
    assert!(
        names.iter().all(|n| n == "Module A" || n == "Module B"),
        "{names:?}"
    );
}

async fn alerts_are_written_once_per_incident_and_claimed_by_one_node_at_a_time(db: &TestDb) {
    use app::store::{AlertHook, AlertOutcome};
    let s = &*db.store;
    let hook = |url: &str, events: &str| AlertHook {
        id: 0,
        url: url.into(),
        secret: Some("k".into()),
        events: events.into(),
        created_at: T0,
    };
    let manual_hook = s
        .insert_hook(
            &hook("https://a.example/h", "manual"),
            &entry("add", "alert", None),
        )
        .await
        .expect("hook");
    let both_hook = s
        .insert_hook(
            &hook("https://b.example/h", "manual,burst"),
            &entry("add", "alert", None),
        )
        .await
        .expect("hook");
    assert_eq!(s.list_hooks().await.unwrap().len(), 2);
    let enqueue = |event: &'static str, incident: &'static str| async move {
        s.enqueue_alert(event, incident, "{\"text\":\"x\"}", T0)
            .await
            .expect("enqueue")
    };
    assert_eq!(
        enqueue("manual", "manual:1:t").await,
        2,
        "both hooks want it"
    );
    assert_eq!(
        enqueue("manual", "manual:1:t").await,
        0,
        "the same incident again"
    );
    assert_eq!(
        enqueue("burst", "burst:1:0").await,
        1,
        "one hook wants bursts"
    );

    let claimed = s
        .claim_alerts(T0, Timestamp(T0.0 + 10_000), 10, 5)
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 3);
    assert!(claimed
        .iter()
        .all(|d| d.attempts == 0 && d.secret.as_deref() == Some("k")));
    assert!(
        s.claim_alerts(T0, Timestamp(T0.0 + 10_000), 10, 5)
            .await
            .unwrap()
            .is_empty(),
        "claimed alerts wait for their try's end"
    );
    for delivery in &claimed {
        let outcome = if delivery.hook_id == manual_hook {
            AlertOutcome::Delivered
        } else {
            AlertOutcome::Failed {
                error: "the hook answered 503".into(),
                retry_at: Timestamp(T0.0 + 1_000),
            }
        };
        s.finish_alert(
            delivery.id,
            &outcome,
            T0,
            &entry("deliver", "alert", Some(delivery.hook_id)),
        )
        .await
        .expect("finish");
    }
    let again = s
        .claim_alerts(Timestamp(T0.0 + 1_000), Timestamp(T0.0 + 5_000), 10, 5)
        .await
        .expect("claim");
    assert_eq!(
        again.len(),
        2,
        "the failed ones come back at their retry time"
    );
    assert!(again
        .iter()
        .all(|d| d.hook_id == both_hook && d.attempts == 1));
    assert_eq!(
        s.list_journal("alert", manual_hook).await.unwrap().len(),
        2,
        "added, delivered"
    );
    // Tried too often: given up.
    for delivery in &again {
        s.finish_alert(
            delivery.id,
            &AlertOutcome::Failed {
                error: "refused".into(),
                retry_at: Timestamp(T0.0 + 6_000),
            },
            T0,
            &entry("deliver", "alert", None),
        )
        .await
        .unwrap();
    }
    assert!(s
        .claim_alerts(Timestamp(T0.0 + 6_000), Timestamp(T0.0 + 9_000), 10, 2)
        .await
        .unwrap()
        .is_empty());
    assert!(s
        .delete_hook(both_hook, &entry("delete", "alert", Some(both_hook)))
        .await
        .unwrap());
    assert!(!s
        .delete_hook(both_hook, &entry("delete", "alert", Some(both_hook)))
        .await
        .unwrap());
    assert!(
        s.claim_alerts(Timestamp(T0.0 + 6_000), Timestamp(T0.0 + 9_000), 10, 100)
            .await
            .unwrap()
            .is_empty(),
        "a deleted hook's alerts go with it"
    );
}

/// The attempts of `ops`, counted row by row into (module, hour start, ok, failed, other).
async fn counted_attempts(s: &dyn Store, module: i64, ops: &[i64]) -> Vec<AttemptHour> {
    let mut hours: std::collections::BTreeMap<i64, AttemptHour> = Default::default();
    for op in ops {
        for attempt in s.list_attempts(*op).await.expect("attempts") {
            let Some(finished) = attempt.finished else {
                continue;
            };
            let hour = finished.0 - finished.0.rem_euclid(HOUR_MS);
            let row = hours.entry(hour).or_insert(AttemptHour {
                module_id: module,
                hour: Timestamp(hour),
                ok: 0,
                failed: 0,
                other: 0,
            });
            match attempt.outcome {
                AttemptOutcome::Ok => row.ok += 1,
                AttemptOutcome::Error => row.failed += 1,
                AttemptOutcome::Interrupted | AttemptOutcome::Stopped => row.other += 1,
                AttemptOutcome::Running => {}
            }
        }
    }
    hours.into_values().collect()
}

async fn the_attempt_rollup_agrees_with_the_attempts(db: &TestDb) {
    let s = &*db.store;
    let (module, ops) = due_operations(s, 6).await;
    let since = Timestamp(T0.0 - HOUR_MS);
    assert_eq!(s.attempts_by_hour(since).await.expect("read"), vec![]);
    // Minute 0: six waiting.
    assert_eq!(s.sample_queue(T0).await.expect("sample"), 1);
    assert_eq!(
        s.sample_queue(Timestamp(T0.0 + 30_000))
            .await
            .expect("again"),
        0,
        "a minute is sampled once"
    );
    // Four run, two at a time (the module's cap): two succeed (in different minutes), one
    // fails, one's lease runs out.
    let first = s
        .claim_operations(&claim_at("node-a", 4, T0.0, 30_000))
        .await
        .expect("claim");
    assert_eq!(first.len(), 2);
    let done = || AfterAttempt::Done { item_status: None };
    let retry = AfterAttempt::Retry {
        next_run_at: Timestamp(T0.0 + 5 * HOUR_MS),
        manual: false,
        task: None,
    };
    s.finish_attempts(
        &[
            finish(&first[0], T0.0 + 1_000, done()),
            finish(&first[1], T0.0 + 2_000, retry),
        ],
        &entry("finish", "runningoperation", None),
    )
    .await
    .expect("finish");
    let claims = s
        .claim_operations(&claim_at("node-a", 4, T0.0 + 3_000, 30_000))
        .await
        .expect("claim");
    assert_eq!(claims.len(), 2);
    s.finish_attempts(
        &[finish(&claims[0], T0.0 + 61_000, done())],
        &entry("finish", "runningoperation", None),
    )
    .await
    .expect("finish");
    let rescued = s
        .rescue_expired(
            Timestamp(T0.0 + 40_000),
            "interrupted",
            &[],
            100,
            &interrupted,
        )
        .await
        .expect("rescue");
    assert_eq!(rescued.ids, vec![claims[1].operation_id]);
    // Minute 1: two waiting, two in error, none running (a status once seen keeps its row).
    assert_eq!(
        s.sample_queue(Timestamp(T0.0 + 90_000))
            .await
            .expect("sample"),
        3
    );
    // The next hour: one more runs and succeeds.
    let later = T0.0 + HOUR_MS + 300_000;
    let claims = s
        .claim_operations(&claim_at("node-a", 1, later, 30_000))
        .await
        .expect("claim");
    assert_eq!(claims.len(), 1);
    s.finish_attempts(
        &[finish(&claims[0], later + 1_000, done())],
        &entry("finish", "runningoperation", None),
    )
    .await
    .expect("finish");

    let counted = counted_attempts(s, module, &ops).await;
    assert_eq!(
        counted
            .iter()
            .map(|h| (h.ok, h.failed, h.other))
            .collect::<Vec<_>>(),
        vec![(2, 1, 1), (1, 0, 0)],
        "{counted:?}"
    );
    assert_eq!(s.attempts_by_hour(since).await.expect("read"), counted);
    assert_eq!(
        s.attempts_by_hour(Timestamp(T0.0 + HOUR_MS + 1))
            .await
            .expect("read"),
        counted[1..],
        "a window starts at the hour holding its start"
    );
    let queue = |status, n| QueueHour {
        module_id: module,
        status,
        hour: T0,
        n,
    };
    let by_hour = s.queue_by_hour(since).await.expect("queue");
    assert_eq!(
        by_hour,
        vec![
            queue(Status::Error, 1),
            queue(Status::Running, 0),
            queue(Status::Waiting, 4)
        ],
        "the hour's mean of its two sampled minutes, with error absent from the first"
    );

    // Two hours on, the first hour's minutes are folded into it: nothing read changes, and a
    // second compaction has nothing to do.
    let now = Timestamp(T0.0 + 2 * HOUR_MS + 1_000);
    assert!(s.compact_rollups(now).await.expect("compact") > 0);
    assert_eq!(s.attempts_by_hour(since).await.expect("read"), counted);
    assert_eq!(s.queue_by_hour(since).await.expect("queue"), by_hour);
    assert_eq!(s.compact_rollups(now).await.expect("again"), 0);
    // An attempt finishing late into an hour already folded is still counted.
    let claims = s
        .claim_operations(&claim_at("node-a", 1, now.0, 30_000))
        .await
        .expect("claim");
    s.finish_attempts(
        &[finish(&claims[0], T0.0 + 3_000, done())],
        &entry("finish", "runningoperation", None),
    )
    .await
    .expect("finish");
    s.compact_rollups(now).await.expect("compact");
    let read = s.attempts_by_hour(since).await.expect("read");
    assert_eq!(read, counted_attempts(s, module, &ops).await);
    assert_eq!(read[0].ok, 3);

    // After 35 days everything is forgotten.
    s.compact_rollups(Timestamp(T0.0 + ROLLUP_KEEP_MS + 2 * HOUR_MS))
        .await
        .expect("forget");
    assert_eq!(s.attempts_by_hour(since).await.expect("read"), vec![]);
    assert_eq!(s.queue_by_hour(since).await.expect("queue"), vec![]);
}

async fn an_open_circuit_gives_one_probe_and_a_paused_module_none(db: &TestDb) {
    use app::store::CircuitChange;
    use app::types::circuit::CircuitState;
    let s = &*db.store;
    let (module, _ops) = due_operations(s, 4).await;
    let circuit = s
        .circuits()
        .await
        .expect("circuits")
        .into_iter()
        .find(|c| c.module_id == module)
        .expect("circuit");
    assert_eq!(
        (circuit.state, circuit.failures, circuit.window_secs),
        (CircuitState::Closed, 5, 60),
        "closed, with the default rule"
    );
    let open = CircuitChange {
        state: CircuitState::Open,
        reason: Some("connection refused".into()),
        retry_at: Some(Timestamp(T0.0 + 10_000)),
        probes: 0,
    };
    let journal = entry("processing.circuit.open", "processing", Some(module));
    assert!(s
        .change_circuit(module, &[CircuitState::Closed], &open, T0, Some(&journal))
        .await
        .expect("open"));
    assert!(
        !s.change_circuit(module, &[CircuitState::Closed], &open, T0, Some(&journal))
            .await
            .expect("again"),
        "a second node deciding the same changes nothing"
    );
    let rows = s.list_journal("processing", module).await.expect("journal");
    assert_eq!(
        rows.iter()
            .filter(|r| r.action == "processing.circuit.open")
            .count(),
        1
    );
    // Open: nothing before its wait is over, then exactly one probe.
    let early = s
        .claim_operations(&claim_at("node-a", 10, T0.0 + 9_999, 30_000))
        .await
        .expect("claim");
    assert!(early.is_empty(), "nothing while open");
    let probe = s
        .claim_operations(&claim_at("node-a", 10, T0.0 + 10_000, 30_000))
        .await
        .expect("claim");
    assert_eq!(probe.len(), 1, "one probe, though the cap is 2");
    assert!(probe[0].probe);
    let circuit = s
        .circuits()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.module_id == module)
        .unwrap();
    assert_eq!(circuit.state, CircuitState::Probing);
    assert_eq!(circuit.since, Some(T0), "since it opened");
    assert_eq!(circuit.reason.as_deref(), Some("connection refused"));
    let none = s
        .claim_operations(&claim_at("node-a", 10, T0.0 + 11_000, 30_000))
        .await
        .expect("claim");
    assert!(none.is_empty(), "nothing else while the probe runs");
    // Paused by hand: nothing, whatever the time.
    let paused = CircuitChange {
        state: CircuitState::Paused,
        reason: Some("paused by boss".into()),
        retry_at: None,
        probes: 0,
    };
    assert!(s
        .change_circuit(module, &[CircuitState::Probing], &paused, T0, None)
        .await
        .unwrap());
    let none = s
        .claim_operations(&claim_at("node-a", 10, T0.0 + 9_000_000, 30_000))
        .await
        .expect("claim");
    assert!(none.is_empty(), "nothing while paused");
    // Closed again: claims as usual, and forgets since when and why.
    let closed = CircuitChange {
        state: CircuitState::Closed,
        reason: None,
        retry_at: None,
        probes: 0,
    };
    assert!(s
        .change_circuit(module, &[CircuitState::Paused], &closed, T0, None)
        .await
        .unwrap());
    let claims = s
        .claim_operations(&claim_at("node-a", 10, T0.0 + 9_000_000, 30_000))
        .await
        .expect("claim");
    assert_eq!(claims.len(), 1, "the cap of 2, one running already");
    assert!(!claims[0].probe);
    let circuit = s
        .circuits()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.module_id == module)
        .unwrap();
    assert_eq!((circuit.since, circuit.reason), (None, None));
    // The rule.
    assert!(s
        .set_circuit_rule(
            module,
            0,
            300,
            &entry("processing.circuit.rule", "processing", Some(module))
        )
        .await
        .unwrap());
    assert!(!s
        .set_circuit_rule(
            999_999,
            1,
            1,
            &entry("processing.circuit.rule", "processing", None)
        )
        .await
        .unwrap());
    let circuit = s
        .circuits()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.module_id == module)
        .unwrap();
    assert_eq!((circuit.failures, circuit.window_secs), (0, 300));
}

async fn the_journal_pages_newest_first_narrowed_by_user_object_and_time(db: &TestDb) {
    use app::store::JournalFilter;
    let s = &*db.store;
    for n in 0..30_i64 {
        let mut e = entry(
            "processing.edit",
            if n % 3 == 0 {
                "processing"
            } else {
                "runningoperation"
            },
            Some(n % 5),
        );
        e.user_name = if n % 2 == 0 { "anna" } else { "boris" }.into();
        e.at = Timestamp(T0.0 + n * 60_000);
        s.insert_journal(&e).await.expect("journal");
    }
    let all = s
        .journal_page(&JournalFilter::default(), 100)
        .await
        .expect("page");
    assert_eq!(all.len(), 30);
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    // Paging by id: two pages of 20 and 10, nothing twice, nothing left out.
    let first = s.journal_page(&JournalFilter::default(), 20).await.unwrap();
    let second = s
        .journal_page(
            &JournalFilter {
                before: first.last().map(|r| r.id),
                ..JournalFilter::default()
            },
            20,
        )
        .await
        .unwrap();
    assert_eq!(first.len() + second.len(), 30);
    assert!(second.iter().all(|r| r.id < first.last().unwrap().id));
    let narrowed = JournalFilter {
        user: Some("anna".into()),
        object: Some("processing".into()),
        from: Some(Timestamp(T0.0 + 6 * 60_000)),
        to: Some(Timestamp(T0.0 + 24 * 60_000)),
        ..JournalFilter::default()
    };
    let rows = s.journal_page(&narrowed, 100).await.unwrap();
    let minutes: Vec<i64> = rows.iter().map(|r| (r.at.0 - T0.0) / 60_000).collect();
    assert_eq!(
        minutes,
        vec![24, 18, 12, 6],
        "even multiples of 3 within 6..=24, newest first"
    );
    let one = JournalFilter {
        object: Some("runningoperation".into()),
        object_id: Some(2),
        ..JournalFilter::default()
    };
    let rows = s.journal_page(&one, 100).await.unwrap();
    assert!(!rows.is_empty());
    assert!(rows
        .iter()
        .all(|r| r.object == "runningoperation" && r.object_id == Some(2)));
}

/// Claims every due operation (a few at a time, as the module's cap allows) and fails each
/// with the message `message_of` gives its id, due again in a day.
async fn fail_due(s: &dyn Store, at: i64, message_of: impl Fn(i64) -> String) {
    loop {
        let claims = s
            .claim_operations(&claim_at("node-a", 10, at, 30_000))
            .await
            .expect("claim");
        if claims.is_empty() {
            return;
        }
        let finishes: Vec<Finish> = claims
            .iter()
            .map(|claim| {
                let message = message_of(claim.operation_id);
                Finish {
                    error_message: Some(message.clone()),
                    failure: Some(fingerprint(claim.module_id, "connect", &message)),
                    ..finish(
                        claim,
                        at,
                        AfterAttempt::Retry {
                            next_run_at: Timestamp(at + 86_400_000),
                            manual: false,
                            task: None,
                        },
                    )
                }
            })
            .collect();
        s.finish_attempts(&finishes, &entry("finish", "runningoperation", None))
            .await
            .expect("finish");
    }
}

/// Each group's (key, operations, clients) as the store keeps them, sorted by key.
async fn kept_groups(s: &dyn Store, at: i64) -> Vec<(String, i64, i64)> {
    let mut kept: Vec<(String, i64, i64)> = s
        .failure_groups(&GroupQuery {
            key: None,
            limit: 100,
            since: Timestamp(at),
            hours: 1,
        })
        .await
        .expect("groups")
        .into_iter()
        .map(|g| (g.key, g.operations, g.clients))
        .collect();
    kept.sort();
    kept
}

/// The same, counted row by row through the list's `failure` filter.
async fn counted_groups(s: &dyn Store, keys: &[String]) -> Vec<(String, i64, i64)> {
    let mut counted = Vec::new();
    for key in keys {
        let rows = s
            .list_operations(&ListQuery {
                filter: OperationFilter {
                    failure: Some(key.clone()),
                    ..OperationFilter::default()
                },
                page_size: 1000,
                ..ListQuery::default()
            })
            .await
            .expect("list");
        let clients: std::collections::BTreeSet<i64> = rows.iter().map(|r| r.client_id).collect();
        if !rows.is_empty() {
            counted.push((key.clone(), rows.len() as i64, clients.len() as i64));
        }
    }
    counted.sort();
    counted
}

async fn the_failure_groups_agree_with_a_count_of_the_operations(db: &TestDb) {
    let s = &*db.store;
    let (module, ops) = due_operations(s, 5).await;
    // A second client with two operations of the same module.
    let other = s
        .insert_client(
            &NewClient {
                name: "Client B".into(),
                email: None,
                created: T0,
            },
            &entry("add", "account", None),
        )
        .await
        .expect("client");
    let mut theirs = Vec::new();
    for i in 0..2 {
        let item = s
            .insert_item(
                &NewItem {
                    client_id: other,
                    module_id: module,
                    itemtype: "vds".into(),
                    name: format!("b{i}.example"),
                    status: ItemStatus::Ordered,
                    created: T0,
                },
                &entry("add", "item", None),
            )
            .await
            .expect("item");
        theirs.push(
            s.insert_operation(
                &fields(item, other, module),
                OperationState::Waiting,
                T0,
                &entry("add", "runningoperation", None),
            )
            .await
            .expect("operation"),
        );
    }
    // Six operations fail with one refusal (addresses differ), one with a full disk.
    let quota_op = ops[4];
    fail_due(s, T0.0, |id| {
        if id == quota_op {
            "Not enough disk space".into()
        } else {
            format!("connect to 10.0.0.{id}:1500 refused")
        }
    })
    .await;
    let refused = fingerprint(module, "connect", "connect to 10.9.9.9:80 refused").key;
    let quota = fingerprint(module, "connect", "Not enough disk space").key;
    let keys = vec![refused.clone(), quota.clone()];
    let mut expected = vec![(refused.clone(), 6, 2), (quota.clone(), 1, 1)];
    expected.sort();
    assert_eq!(kept_groups(s, T0.0).await, expected);
    assert_eq!(counted_groups(s, &keys).await, expected);
    let group = s
        .failure_groups(&GroupQuery {
            key: Some(refused.clone()),
            limit: 1,
            since: Timestamp(T0.0),
            hours: 2,
        })
        .await
        .unwrap()
        .remove(0);
    assert_eq!(group.template, "connect to <address> refused");
    assert!(
        group.sample.starts_with("connect to 10.0.0."),
        "{}",
        group.sample
    );
    assert_eq!(group.per_hour, vec![6, 0], "six failures in the first hour");
    assert_eq!((group.first_seen, group.last_seen), (T0, T0));
    // The second client's operations: one is deleted, the other succeeds; a third
    // operation fails again an hour later, now with the full disk.
    assert!(s
        .delete_operation(
            theirs[0],
            T0,
            &entry("delete", "runningoperation", Some(theirs[0]))
        )
        .await
        .unwrap());
    let later = T0.0 + 3_600_000;
    for id in [theirs[1], ops[0]] {
        assert!(s
            .request_start(
                id,
                Timestamp(later),
                &entry("start", "runningoperation", Some(id))
            )
            .await
            .unwrap());
    }
    let claims = s
        .claim_operations(&claim_at("node-a", 10, later, 30_000))
        .await
        .expect("claim");
    assert_eq!(claims.len(), 2);
    for claim in &claims {
        let done = if claim.operation_id == theirs[1] {
            finish(claim, later, AfterAttempt::Done { item_status: None })
        } else {
            Finish {
                error_message: Some("Not enough disk space".into()),
                failure: Some(fingerprint(module, "connect", "Not enough disk space")),
                ..finish(
                    claim,
                    later,
                    AfterAttempt::Retry {
                        next_run_at: Timestamp(later + 3_600_000),
                        manual: false,
                        task: None,
                    },
                )
            }
        };
        s.finish_attempts(&[done], &entry("finish", "runningoperation", None))
            .await
            .expect("finish");
    }
    let mut expected = vec![(refused.clone(), 3, 1), (quota.clone(), 2, 1)];
    expected.sort();
    assert_eq!(kept_groups(s, T0.0).await, expected);
    assert_eq!(counted_groups(s, &keys).await, expected);
    // Folding changes no count, and leaves nothing to fold.
    assert!(s.compact_failures(Timestamp(later)).await.expect("fold") > 0);
    assert_eq!(kept_groups(s, T0.0).await, expected);
    assert_eq!(
        s.compact_failures(Timestamp(later)).await.expect("again"),
        0
    );
    let group = s
        .failure_groups(&GroupQuery {
            key: Some(quota.clone()),
            limit: 1,
            since: Timestamp(T0.0),
            hours: 2,
        })
        .await
        .unwrap()
        .remove(0);
    assert_eq!(group.per_hour, vec![1, 1]);
    assert_eq!(group.last_seen, Timestamp(later));
    // Most operations first.
    let order: Vec<String> = s
        .failure_groups(&GroupQuery {
            key: None,
            limit: 10,
            since: Timestamp(later),
            hours: 0,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.key)
        .collect();
    assert_eq!(order, vec![refused.clone(), quota.clone()]);
    // The group's operations, in id order, a page at a time.
    let first = s.failure_group_operations(&refused, 0, 2).await.unwrap();
    let rest = s
        .failure_group_operations(&refused, first[1], 10)
        .await
        .unwrap();
    assert_eq!([first, rest].concat(), vec![ops[1], ops[2], ops[3]]);
    // One task for the group, linked from each operation; asked again, the same task.
    let task = s
        .create_group_task(
            &refused,
            TaskKind::Setup,
            "group",
            &entry("taskcreate", "runningoperation", None),
        )
        .await
        .unwrap()
        .expect("a group with operations");
    assert!(task.created);
    assert_eq!((task.linked, task.had_task), (3, 0));
    for id in [ops[1], ops[2], ops[3]] {
        let op = s.get_operation(id).await.unwrap().unwrap();
        assert_eq!(op.task_id, Some(task.task_id));
    }
    let again = s
        .create_group_task(
            &refused,
            TaskKind::Setup,
            "group",
            &entry("taskcreate", "runningoperation", None),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (again.task_id, again.created, again.linked, again.had_task),
        (task.task_id, false, 0, 3)
    );
    let groups = s
        .failure_groups(&GroupQuery {
            key: Some(refused.clone()),
            limit: 1,
            since: Timestamp(later),
            hours: 0,
        })
        .await
        .unwrap();
    assert_eq!(groups[0].task_id, Some(task.task_id));
    assert!(s
        .create_group_task(
            &"0".repeat(16),
            TaskKind::Setup,
            "none",
            &entry("taskcreate", "runningoperation", None)
        )
        .await
        .unwrap()
        .is_none());
    // Failures per hour older than two days are forgotten by a fold.
    s.compact_failures(Timestamp(later + 3 * 24 * 3_600_000))
        .await
        .unwrap();
    let group = s
        .failure_groups(&GroupQuery {
            key: Some(quota.clone()),
            limit: 1,
            since: Timestamp(T0.0),
            hours: 2,
        })
        .await
        .unwrap()
        .remove(0);
    assert_eq!((group.per_hour, group.operations), (vec![0, 0], 2));
}

on_both_databases!(
    the_failure_groups_agree_with_a_count_of_the_operations,
    the_journal_pages_newest_first_narrowed_by_user_object_and_time,
    an_open_circuit_gives_one_probe_and_a_paused_module_none,
    the_attempt_rollup_agrees_with_the_attempts,
    alerts_are_written_once_per_incident_and_claimed_by_one_node_at_a_time,
    the_operation_counts_agree_with_a_count_of_the_rows,
    a_backup_copies_sqlite_and_sends_postgres_to_pg_dump,
    migrating_twice_changes_nothing,
    clients_round_trip_with_their_journal,
    modules_keep_their_secret_and_refuse_a_taken_name,
    a_module_with_a_bad_limit_is_refused_by_the_schema,
    items_are_listed_per_client,
    an_item_of_a_missing_client_is_refused_by_the_schema,
    a_service_has_at_most_one_active_operation,
    a_negative_trycount_is_refused_by_the_schema,
    an_operation_round_trips_and_changes,
    every_filter_field_narrows_the_list,
    list_rows_carry_names_and_derived_status,
    the_status_sql_agrees_with_the_one_status_rule,
    every_column_sorts_both_ways_and_pages,
    pages_sorted_by_module_or_client_are_the_list_in_name_then_id_order,
    pages_read_by_seeking_are_the_pages_their_numbers_name,
    counts_stop_at_their_bound,
    start_stop_and_delete_respect_the_state,
    attempts_keep_their_logs_in_order,
    an_operation_gets_one_task_only,
    users_and_sessions_expire_and_cascade,
    saved_filters_are_per_user_and_overwritten,
    a_forced_running_operation_holds_a_lease,
    journal_rows_can_stand_alone,
    an_error_text_matching_many_distinct_messages_still_filters,
    a_claim_takes_due_operations_up_to_the_module_cap,
    an_attempt_row_is_written_once_when_its_run_ends_with_the_start_its_claim_had,
    a_claim_skips_manual_future_and_switched_off_work,
    a_stale_workers_finish_changes_nothing,
    a_large_rescue_goes_in_batches_past_the_callers_own_runs,
    renewal_keeps_live_leases_and_reports_stop_requests,
    a_failure_schedules_a_retry_and_the_last_one_opens_one_task,
    concurrent_claims_never_take_one_operation_twice,
    a_session_changes_language_with_its_su_sessions,
);
