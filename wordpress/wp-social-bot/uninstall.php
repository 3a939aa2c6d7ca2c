<?php
/**
 * Deletes the plugin's options when it is deleted from the Plugins screen. The post meta stays: the editors'
 * choices belong to their posts.
 *
 * @package WP_Social_Bot
 */

defined( 'ABSPATH' ) || exit;
defined( 'WP_UNINSTALL_PLUGIN' ) || exit;

foreach ( array( 'wp_social_bot_url', 'wp_social_bot_secret', 'wp_social_bot_share_default', 'wp_social_bot_last_failure' ) as $wp_social_bot_option ) {
	delete_option( $wp_social_bot_option );
}
