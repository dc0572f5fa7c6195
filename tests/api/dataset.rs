//! The bundled dataset loads once: loading it again adds nothing.

use serde_json::json;

use crate::on_both_backends;

on_both_backends! {
    async fn loading_the_bundled_dataset_twice_adds_nothing(app) {
        let query = "{ careerPaths { totalCount } skills { totalCount } technologies { totalCount } industries { slug } benefits { slug }
                       careerPath(slug: \"backend-developer\") { responsibilities { id } roadmap { id resources { id } } } }";
        let before = app.query_ok(query, json!({})).await;
        let report = careergraph_domain::dataset::load_bundled(app.db()).await.expect("the dataset loads again");
        assert!(report.is_empty(), "a second load inserted {report:?}");
        let after = app.query_ok(query, json!({})).await;
        assert_eq!(before, after);
        assert_eq!(after["careerPaths"]["totalCount"], 1);
        assert_eq!(after["skills"]["totalCount"], 9);
        assert_eq!(after["technologies"]["totalCount"], 17);
    }
}
